/**
 * The Temporal UI with the codec server, in a real browser (Debian's Chromium through
 * playwright-core): a Temporal dev server of this test alone, its UI pointed at the codec server
 * as the local stack points it (`--ui-codec-endpoint`, token in the path on loopback), shows a
 * backup's input and result decoded; the same page whose codec requests lose the token shows
 * ciphertext only. The database, MinIO and the worker's environment are the shared stack's.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { newPayloadKeyText } from '../../../src/codec/keys.js';
import { serveCodec } from '../../../src/codec/serve.js';
import type { RunningCodecServer } from '../../../src/codec/server.js';
import { findBinary, STRONGBOX_SEARCH_ATTRIBUTES, TEMPORAL_CLI } from '../../../src/stack/index.js';
import { freePort, LOOPBACK } from '../../../src/stack/ports.js';
import { spawnDetached, stopProcess } from '../../../src/stack/processes.js';
import { waitUntilReady } from '../../../src/stack/readiness.js';
import { temporalAnswers, temporalArgs, temporalSignature } from '../../../src/stack/temporal.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve(import.meta.dirname, '../../../test-artifacts');
/** How long one page may take to show what it should on a loaded 2-core machine. */
const PAGE_TIMEOUT_MS = 30_000;

describe.skipIf(!existsSync(CHROMIUM))('the Temporal UI with the codec server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-ui-codec-'));
  const token = randomBytes(24).toString('base64url');
  let temporal: { pid: number; address: string; uiUrl: string } | undefined;
  let codecServer: RunningCodecServer | undefined;
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker | undefined;
  let browser: Browser | undefined;
  let workflowId: string;
  let runId: string;

  beforeAll(async () => {
    const binary = findBinary(TEMPORAL_CLI);
    if (!binary) throw new Error('the Temporal CLI is not built — the global setup builds it with the stack');
    const ports = { port: await freePort(), uiPort: await freePort(), httpPort: await freePort(), metricsPort: await freePort() };
    const codecPort = await freePort();
    const options = {
      dir,
      persistent: false,
      ui: true,
      namespace: 'default',
      searchAttributes: { ...STRONGBOX_SEARCH_ATTRIBUTES },
      codec: { port: codecPort, token },
    };
    const log = path.join(dir, 'temporal', 'temporal.log');
    const started = spawnDetached({ command: binary.path, args: temporalArgs(options, ports), log, cwd: dir });
    temporal = { pid: started.pid, address: `${LOOPBACK}:${ports.port}`, uiUrl: `http://${LOOPBACK}:${ports.uiPort}` };
    const info = { address: temporal.address, namespace: 'default', uiUrl: temporal.uiUrl };
    await waitUntilReady({
      component: 'Temporal',
      log,
      started,
      probe: () => temporalAnswers(info, Object.keys(STRONGBOX_SEARCH_ATTRIBUTES)),
    });

    db = await createTestDatabase(testStack(), 'uicodec');
    setup = testSetup({
      database: db.name,
      prefix: 'uicodec',
      stack: { ...testStack(), temporal: { ...testStack().temporal, ...info } },
      patch: (raw, setupDir) => {
        writeFileSync(path.join(setupDir, 'payload.key'), newPayloadKeyText(), { mode: 0o600 });
        writeFileSync(path.join(setupDir, 'codec.token'), `${token}\n`, { mode: 0o600 });
        raw.codec = {
          key: { file: 'payload.key' },
          server: { port: codecPort, token: { file: 'codec.token' }, uiOrigins: [temporal!.uiUrl], namespaces: ['default'] },
        };
      },
    });
    codecServer = await serveCodec(setup.config);
    worker = await startTestWorker(setup);
    workflowId = `backup-${setup.id}`;
    const handle = await startBackup(worker.client, setup.config, { target: 'app', scheduledAt: '2026-03-05T02:00:00.000Z', workflowId });
    expect((await handle.result()).outcome).toBe('created');
    runId = (await handle.describe()).runId;
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await codecServer?.close();
    if (temporal) await stopProcess(temporal.pid, temporalSignature({ address: temporal.address }), 30_000);
    await db?.drop();
    setup?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runPage(options: { dropToken: boolean }, screenshot: string): Promise<{ body: string; statuses: number[] }> {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 1400 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const codecRequests: number[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(codecServer!.url)) codecRequests.push(response.status());
    });
    if (options.dropToken) {
      // The page's codec requests lose the token, as a caller without one would send them.
      await page.route(`${codecServer!.url}/**`, (route) =>
        route.continue({
          url: route
            .request()
            .url()
            .replace(/\/token\/[^/]+/, ''),
        }),
      );
    }
    try {
      await page.goto(`${temporal!.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
      // The UI decodes in the background: wait for its codec calls and for the page to settle after them.
      for (const deadline = Date.now() + PAGE_TIMEOUT_MS; codecRequests.length === 0 && Date.now() < deadline;)
        await page.waitForTimeout(250);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: path.join(ARTIFACTS, screenshot), fullPage: true });
      expect(codecRequests.length, 'the UI called the codec server').toBeGreaterThan(0);
      return { body: await page.innerText('body'), statuses: codecRequests };
    } finally {
      await page.close();
    }
  }

  it('shows the input and the result decoded through the codec server with the token', async () => {
    const { body, statuses } = await runPage({ dropToken: false }, 'ui-codec-decoded.png');
    expect(statuses).toContain(200);
    expect(body).toMatch(/"tier":\s*"auto"/);
    expect(body).toMatch(/"outcome":\s*"created"/);
    expect(body).toContain(`"database": "${db.name}"`);
  });

  it('shows ciphertext when the codec server refuses a request without the token', async () => {
    const { body, statuses } = await runPage({ dropToken: true }, 'ui-codec-refused.png');
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(body).not.toMatch(/"tier":\s*"auto"/);
    expect(body).not.toMatch(/"outcome":\s*"created"/);
    expect(body).not.toContain(db.name);
    // The UI says why it shows no payloads.
    expect(body).toContain('Codec Server could not connect');
  });
});
