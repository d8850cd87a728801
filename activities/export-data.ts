/**
 * exportData: writes a target's configured export items (tables or queries) as JSON or NDJSON into
 * its export destination — streaming from one read-only snapshot, each file hashed and counted on
 * the way, stored under a dated name with its manifest (written last), then copied to the item's
 * fixed "latest" name.
 * Safe to retry: each attempt takes its own time stamp and writes new dated files; what a failed
 * attempt left without a manifest is removed by pruneExports once it is past the keep period.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { compactTime } from '../src/catalog/layout.js';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { exportDestination } from '../src/export/destination.js';
import { beginExportSnapshot, exportItem } from '../src/export/export.js';
import { datedExportKey, datedManifestKey, latestExportKey, latestManifestKey, type ExportFormat } from '../src/export/layout.js';
import { EXPORT_MANIFEST_FORMAT_VERSION, serializeExportManifest, type ExportManifest } from '../src/export/manifest.js';
import { FailureType } from '../src/failures.js';
import { connectPg, resolveEndpoint } from '../src/postgres/endpoint.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { stagingFolder } from '../src/staging.js';

export interface ExportDataInput {
  target: string;
  workflowId: string;
  runId: string;
}

export interface ExportDataResult {
  target: string;
  destination: string;
  exportedAt: string;
  /** The manifests written, one per item. */
  files: ExportManifest[];
}

export function createExportDataActivities(deps: ActivityDeps) {
  return {
    async exportData(input: ExportDataInput): Promise<ExportDataResult> {
      return asActivity(`export of target ${input.target}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        const target = getTarget(deps.config, input.target);
        const settings = target.export;
        if (!settings || settings.items.length === 0) {
          throw new StrongboxError(
            FailureType.Config,
            `targets.${input.target}.export.items is empty — list the tables or queries to export (for example items: [{ name: products, table: products }])`,
          );
        }
        const destination = exportDestination(deps.config, input.target);
        const storage = storageFor(deps, destination);
        await storage.checkAccess();
        // One time for the whole run, to the second (the precision of the file names).
        const exportedAt = new Date(Math.floor(deps.clock().getTime() / 1000) * 1000).toISOString();
        const staging = stagingFolder(deps.stagingDir, `export-${input.target}-${compactTime(exportedAt)}`);
        await rm(staging, { recursive: true, force: true });
        await mkdir(staging, { recursive: true, mode: 0o700 });

        const endpoint = resolveEndpoint(deps.config, target, target.database);
        let client: pg.Client;
        try {
          client = await connectPg(endpoint);
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          throw classify(error, `cannot connect to ${endpoint.user}@${endpoint.host}:${endpoint.port}/${endpoint.database}`);
        }
        const files: ExportManifest[] = [];
        try {
          await beginExportSnapshot(client);
          for (const [i, item] of settings.items.entries()) {
            const format: ExportFormat = settings.format;
            const file = path.join(staging, `${item.name}.${format}`);
            const exported = await exportItem({
              client,
              item,
              format,
              file,
              field: `targets.${input.target}.export.items[${i}]`,
              signal,
              onRows: (rows) => context.heartbeat({ step: 'export', item: item.name, rows }),
            });
            const key = datedExportKey(input.target, item.name, exportedAt, format);
            const manifest: ExportManifest = {
              formatVersion: EXPORT_MANIFEST_FORMAT_VERSION,
              kind: 'export',
              target: input.target,
              database: target.database,
              name: item.name,
              source: exported.source,
              format,
              key,
              exportedAt,
              rows: exported.rows,
              size: exported.size,
              sha256: exported.sha256,
              workflow: { id: input.workflowId, runId: input.runId },
            };
            const put = { sha256: exported.sha256, size: exported.size, signal };
            await storage.putFile(key, file, put);
            await storage.putBytes(datedManifestKey(input.target, item.name, exportedAt), serializeExportManifest(manifest), {
              contentType: 'application/json',
            });
            await storage.putFile(latestExportKey(input.target, item.name, format), file, put);
            await storage.putBytes(latestManifestKey(input.target, item.name), serializeExportManifest(manifest), {
              contentType: 'application/json',
            });
            // A format change leaves the other format's latest copy stale: remove it.
            await storage.delete(latestExportKey(input.target, item.name, format === 'json' ? 'ndjson' : 'json'));
            await rm(file, { force: true });
            files.push(manifest);
            deps.logger.info({ target: input.target, item: item.name, rows: exported.rows, bytes: exported.size, key }, 'export written');
          }
          await client.query('COMMIT');
        } finally {
          await client.end().catch(() => undefined);
          await rm(staging, { recursive: true, force: true });
        }
        return { target: input.target, destination, exportedAt, files };
      });
    },
  };
}
