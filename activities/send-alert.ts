/**
 * sendAlert: delivers one alert to every configured channel (alerts.channels), each tried a few
 * times; a channel that stays down is logged and counted, never a reason to fail the work the alert
 * is about. Fails (so Temporal tries again, within the caller's short bound) only when no channel
 * took the alert.
 * Safe to retry: channels that already took the alert are remembered in the heartbeat details and
 * skipped, so a retry after a crash does not alert twice.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { toMessage, type Alert } from '../src/alerts/alert.js';
import { channelName, deliver, type DeliveryResult } from '../src/alerts/channels.js';
import { FailureType } from '../src/failures.js';
import { count } from '../src/metrics/meter.js';
import type { ActivityDeps } from './deps.js';

export interface SendAlertResult {
  delivered: string[];
  failed: Array<{ channel: string; error: string }>;
  /** Why nothing was sent, when nothing was. */
  skipped?: string;
}

export function createSendAlertActivities(deps: ActivityDeps) {
  return {
    async sendAlert(alert: Alert): Promise<SendAlertResult> {
      const { channels } = deps.config.alerts;
      const log = {
        kind: alert.kind,
        workflowKind: alert.workflowKind,
        target: alert.target,
        step: alert.step,
        workflowId: alert.workflow.id,
      };
      if (channels.length === 0) {
        deps.logger.warn({ ...log, reason: alert.reason }, 'alert not sent: no alert channel is configured (alerts.channels)');
        return { delivered: [], failed: [], skipped: 'no alert channel configured' };
      }
      const context = Context.current();
      const already = new Set((context.info.heartbeatDetails as { delivered?: string[] } | undefined)?.delivered ?? []);
      const message = toMessage(alert, deps.config.temporal.uiUrl);
      const delivered = [...already];
      const results = await Promise.all(
        channels.map(async (channel, index): Promise<DeliveryResult | undefined> => {
          const name = channelName(channel, index);
          if (already.has(name)) return undefined;
          const result = await deliver(channel, name, message, { signal: context.cancellationSignal, config: deps.config, index });
          if (result.delivered) {
            delivered.push(name);
            context.heartbeat({ delivered });
            count('alertsSent', 1, { channel: name, kind: alert.kind });
          } else {
            count('alertDeliveryFailures', 1, { channel: name, kind: alert.kind });
          }
          return result;
        }),
      );
      const failed = results
        .filter((r): r is DeliveryResult => r !== undefined && !r.delivered)
        .map((r) => ({ channel: r.channel, error: r.error ?? 'unknown error' }));
      if (failed.length > 0) deps.logger.error({ ...log, failed }, 'alert channel(s) did not take the alert');
      if (delivered.length === 0) {
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `no alert channel took the alert: ${failed.map((f) => `${f.channel}: ${f.error}`).join('; ')}`,
        });
      }
      deps.logger.info({ ...log, delivered }, 'alert sent');
      return { delivered, failed };
    },
  };
}
