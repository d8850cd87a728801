import { describe, expect, it } from 'vitest';
import { alertTitle, formatAlertText, shortenReason, temporalRunLink, toMessage, type Alert } from '../../../src/alerts/alert.js';
import { CHANNEL_FORMATS, channelName } from '../../../src/alerts/channels.js';

const failure: Alert = {
  kind: 'failure',
  severity: 'critical',
  workflowKind: 'backup',
  target: 'app',
  step: 'dump',
  reason: 'cannot connect to postgres@db:5432/app: connect ECONNREFUSED',
  at: '2026-11-24T02:03:00.000Z',
  workflow: { id: 'backup-app-2026-11-24T02:00:00Z', runId: '0b1c-run', namespace: 'default' },
  backupId: 'app-20261124T020000Z',
};

describe('the link to the run in the Temporal UI', () => {
  it.each([
    ['http://127.0.0.1:8233', 'http://127.0.0.1:8233/namespaces/default/workflows/backup-app-2026-11-24T02%3A00%3A00Z/0b1c-run/history'],
    [
      'https://temporal.example.com/ui/',
      'https://temporal.example.com/ui/namespaces/default/workflows/backup-app-2026-11-24T02%3A00%3A00Z/0b1c-run/history',
    ],
    [undefined, undefined],
  ])('from %s', (uiUrl, expected) => {
    expect(temporalRunLink(uiUrl, failure.workflow)).toBe(expected);
  });
});

describe('alert messages', () => {
  it.each([
    [failure, 'Strongbox: backup failed — target app at step dump'],
    [
      { ...failure, kind: 'failure', workflowKind: 'verify', step: 'restore' } as Alert,
      'Strongbox: verify failed — target app at step restore',
    ],
    [{ ...failure, kind: 'anomaly', severity: 'warning' } as Alert, 'Strongbox: anomaly — target app'],
    [{ ...failure, kind: 'prune-refused', workflowKind: 'prune' } as Alert, 'Strongbox: prune refused — target app'],
    [{ ...failure, kind: 'stale', workflowKind: 'staleness-check' } as Alert, 'Strongbox: backups stale — target app'],
  ])('titles %#', (alert, title) => {
    expect(alertTitle(alert)).toBe(title);
  });

  it('sends the webhook channel the whole alert, its title and link as JSON', () => {
    const message = toMessage(failure, 'http://ui:8233');
    const request = CHANNEL_FORMATS.webhook(message);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      ...failure,
      source: 'strongbox',
      title: alertTitle(failure),
      link: temporalRunLink('http://ui:8233', failure.workflow),
    });
  });

  it('sends the Slack channel { text } with target, step, reason and link', () => {
    const message = toMessage({ ...failure, reason: 'a < b & c > d' }, 'http://ui:8233');
    const body = JSON.parse(CHANNEL_FORMATS.slack(message).body) as Record<string, string>;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toBe(
      [
        '*Strongbox: backup failed — target app at step dump*',
        'target: app · workflow: backup · step: dump · backup: app-20261124T020000Z',
        'reason: a &lt; b &amp; c &gt; d',
        '<http://ui:8233/namespaces/default/workflows/backup-app-2026-11-24T02%3A00%3A00Z/0b1c-run/history|open the run in the Temporal UI>',
      ].join('\n'),
    );
  });

  it('lists anomalies one per line, and names the run when there is no UI link', () => {
    const text = formatAlertText(
      toMessage(
        {
          ...failure,
          kind: 'anomaly',
          anomalies: [
            { kind: 'size', message: 'the dump is 90% smaller' },
            { kind: 'row-count', message: 'table a had 3 rows and now has none' },
          ],
        },
        undefined,
      ),
    );
    expect(text.split('\n').slice(3)).toEqual([
      '• size: the dump is 90% smaller',
      '• row-count: table a had 3 rows and now has none',
      'workflow backup-app-2026-11-24T02:00:00Z (run 0b1c-run)',
    ]);
  });

  it('shortens very long reasons', () => {
    expect(shortenReason('x'.repeat(5000))).toHaveLength(1000);
    expect(shortenReason('  short  ')).toBe('short');
  });

  it('names channels without their URL, which may hold a token', () => {
    expect(channelName({ type: 'slack', url: 'https://hooks.slack.com/services/T000/B000/SECRET' }, 0)).toBe('slack-1-hooks.slack.com');
    expect(channelName({ type: 'webhook', url: 'https://alerts.example.com/hook?token=x', name: 'pager' }, 3)).toBe('pager');
  });
});
