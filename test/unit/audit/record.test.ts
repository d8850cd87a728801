/**
 * Recording an access never stops the work: a destination that does not take the event is reported
 * and alerted (a real HTTP receiver), and the destinations that took it hold it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../src/alerts/alert.js';
import { chainKey } from '../../../src/audit/chain.js';
import { auditEventId, recordAuditEvent } from '../../../src/audit/record.js';
import { parseConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/logger.js';
import { LocalStorage } from '../../../src/storage/local.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';

describe('recordAuditEvent', () => {
  let dir: string;
  let receiver: WebhookReceiver;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-record-'));
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes where it can, and alerts naming the event and the destination that refused', async () => {
    const config = parseConfig(
      { alerts: { channels: [{ type: 'webhook', url: `${receiver.url}/hook`, name: 'receiver' }] } },
      { source: undefined, baseDir: dir },
    );
    writeFileSync(path.join(dir, 'not-a-directory'), '');
    const local = new LocalStorage('local', path.join(dir, 'local'));
    const broken = new LocalStorage('nas', path.join(dir, 'not-a-directory'));
    const at = new Date('2026-11-20T10:00:00Z');
    const result = await recordAuditEvent(
      { config, storages: [local, broken], logger: silentLogger(), clock: () => at },
      {
        action: 'backup.pruned',
        identity: 'schedule:strongbox-prune',
        target: 'app',
        backupIds: ['app-20261001T020000Z'],
        id: auditEventId('prune-1', 'run', 'act', 'app-20261001T020000Z'),
      },
    );
    expect(result.written).toEqual(['local']);
    expect(result.keys).toEqual({ local: chainKey('2026-11-20', 1) });
    expect(result.failed.map((f) => f.destination)).toEqual(['nas']);

    expect(receiver.received).toHaveLength(1);
    const alert = receiver.received[0]!.body as AlertMessage;
    expect(alert).toMatchObject({ kind: 'audit-gap', target: 'app', backupId: 'app-20261001T020000Z' });
    expect(alert.reason).toContain('backup.pruned by schedule:strongbox-prune');
    expect(alert.reason).toContain('nas (');
  });

  it('derives the same event id from the same access, and another from another', () => {
    expect(auditEventId('wf', 'run', '3', 'backup.downloaded')).toBe(auditEventId('wf', 'run', '3', 'backup.downloaded'));
    expect(auditEventId('wf', 'run', '3', 'backup.downloaded')).not.toBe(auditEventId('wf', 'run', '4', 'backup.downloaded'));
    expect(auditEventId('a', 'bc')).not.toBe(auditEventId('ab', 'c'));
    expect(auditEventId('x')).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });
});
