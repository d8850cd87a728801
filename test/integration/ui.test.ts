/**
 * The Temporal UI as the operator's console, checked in a real browser: headless Chromium (Debian's
 * package, driven by playwright-core) opens the test stack's UI, finds a completed backup by its
 * StrongboxTarget search attribute on the workflows page, and shows its Strongbox search attributes
 * on the run's page. Screenshots are kept under test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { createLogger } from '../../src/logger.js';
import { ensureDebianPackages } from '../../src/stack/debian.js';
import { createTestDatabase, pgAdmin, testStack, uniqueId, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
/** The UI reads the visibility store, which lags a run's end by a moment: bounds the wait, asserts nothing. */
const VISIBILITY_DEADLINE_MS = 60_000;
/** How long one page load may take to show what it should on a loaded 2-core machine. */
const PAGE_TIMEOUT_MS = 20_000;

/** Chromium from Debian, installed when missing; undefined (and the reason) when it cannot be. */
async function chromiumPath(): Promise<{ path?: string; reason?: string }> {
  try {
    await ensureDebianPackages(['chromium'], { logger: createLogger({ name: 'ui-test' }) });
  } catch (error) {
    return { reason: (error as Error).message };
  }
  return existsSync(CHROMIUM) ? { path: CHROMIUM } : { reason: `${CHROMIUM} is missing although the chromium package is installed` };
}

const browserInstall = await chromiumPath();
if (!browserInstall.path) console.warn(`skipping the Temporal UI browser test: chromium cannot be installed (${browserInstall.reason})`);

describe.skipIf(!browserInstall.path)('the Temporal UI in a browser', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let browser: Browser;
  let page: Page;
  let target: string;
  let workflowId: string;
  let runId: string;
  let uiUrl: string;

  beforeAll(async () => {
    uiUrl = testStack().temporal.uiUrl!;
    expect(uiUrl, 'the test stack runs the Temporal UI').toBeDefined();
    db = await createTestDatabase(testStack(), 'ui');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query(
        'create table notes (id int primary key, body text); insert into notes select i, md5(i::text) from generate_series(1, 100) i',
      );
    } finally {
      await admin.end();
    }
    target = uniqueId('ui').slice(0, 30);
    setup = testSetup({
      database: db.name,
      prefix: 'ui',
      patch: (raw) => {
        raw.targets = { [target]: raw.targets.app };
      },
    });
    worker = await startTestWorker(setup);
    workflowId = `backup-${setup.id}`;
    const handle = await startBackup(worker.client, setup.config, { target, scheduledAt: '2026-02-03T02:00:00.000Z', workflowId });
    expect((await handle.result()).outcome).toBe('created');
    runId = (await handle.describe()).runId;

    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: browserInstall.path!, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await db?.drop();
    setup?.cleanup();
  });

  it('lists the completed backup on the workflows page, filtered by its StrongboxTarget', async () => {
    const query = `StrongboxTarget='${target}' AND StrongboxOutcome='succeeded'`;
    const row = page.getByRole('row').filter({ hasText: workflowId });
    for (const deadline = Date.now() + VISIBILITY_DEADLINE_MS; ;) {
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      const shown = await row
        .first()
        .waitFor({ timeout: PAGE_TIMEOUT_MS / 2 })
        .then(
          () => true,
          () => false,
        );
      if (shown || Date.now() > deadline) break;
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-workflows-by-target.png'), fullPage: true });
    expect(await row.count()).toBe(1);
    const text = await row.first().innerText();
    expect(text).toContain('Completed');
    expect(text).toContain(runId);
    expect(text).toContain('backupWorkflow');
    // The filter the UI parsed from the query names the custom search attribute.
    expect(await page.getByText('StrongboxTarget', { exact: false }).first().isVisible()).toBe(true);
  });

  it("shows the run's Strongbox search attributes on its page", async () => {
    await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    const panel = page.getByText('"StrongboxTarget"', { exact: false }).first();
    await panel.waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-search-attributes.png'), fullPage: true });
    const body = await page.innerText('body');
    expect(body).toContain(`"StrongboxTarget": "${target}"`);
    expect(body).toContain('"StrongboxOutcome": "succeeded"');
    expect(body).toContain('"StrongboxKind": "backup"');
    expect(body).toContain(`"StrongboxBackupId": "${target}-20260203T020000Z"`);
    expect(body).toMatch(/"StrongboxTier": \[\s*"daily"\s*\]/);
    expect(body).toMatch(/"StrongboxBytes": \d+/);
  });
});
