/**
 * Names a restore gives things: the new database it restores into, the dated name an old database
 * is kept under after a swap, and the workflow ids of restores and disaster recoveries. Pure and
 * workflow-safe.
 */
import { compactTime } from '../catalog/layout.js';

/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/** `20261124T023000Z` → `20261124_023000`: readable, sortable, and needs no quoting in SQL. */
export function databaseTimeSuffix(at: string): string {
  const compact = compactTime(at);
  return `${compact.slice(0, 8)}_${compact.slice(9, 15)}`;
}

/** `<database>_restored_<YYYYMMDD_HHMMSS>`: where a restore puts a backup unless told otherwise. */
export function restoredDatabaseName(database: string, at: string): string {
  return withSuffix(database, `_restored_${databaseTimeSuffix(at)}`);
}

/** `<database>_before_restore_<YYYYMMDD_HHMMSS>`: where a swap keeps the database it replaced. */
export function keptDatabaseName(database: string, at: string): string {
  return withSuffix(database, `_before_restore_${databaseTimeSuffix(at)}`);
}

/** `base` + `suffix`, the base shortened (by whole characters) so the whole fits in 63 bytes. */
function withSuffix(base: string, suffix: string): string {
  const room = MAX_IDENTIFIER_BYTES - utf8Length(suffix);
  let kept = '';
  let bytes = 0;
  for (const char of base) {
    const size = utf8Length(char);
    if (bytes + size > room) break;
    kept += char;
    bytes += size;
  }
  return `${kept}${suffix}`;
}

/** UTF-8 length without Buffer or TextEncoder (workflow code has neither for sure). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** `<prefix>-<target>-<time to the second>`: one run per target and second; a double trigger attaches. */
function runId(prefix: string, target: string, at: string): string {
  return `${prefix}-${target}-${new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

export function restoreWorkflowId(target: string, at: string): string {
  return runId('restore', target, at);
}

export function drWorkflowId(target: string, at: string): string {
  return runId('dr', target, at);
}

/** The restore a disaster recovery runs as its child: one per recovery. */
export function drRestoreWorkflowId(drWorkflowId: string): string {
  return `${drWorkflowId}-restore`;
}

/** A restore's staging folder on its restore host (relative to the staging directory). */
export function restoreStagingName(workflowId: string, runId: string): string {
  const id = workflowId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
  return `restore-${id}-${runId.replace(/[^0-9a-fA-F]/g, '').slice(0, 12)}`;
}
