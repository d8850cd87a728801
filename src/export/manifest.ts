/** The small manifest written beside each export: what it holds and how to check it. */
import { z } from 'zod';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export const EXPORT_MANIFEST_FORMAT_VERSION = 1;

export interface ExportManifest {
  formatVersion: number;
  kind: 'export';
  target: string;
  database: string;
  /** The item's name in `targets.<target>.export.items`. */
  name: string;
  /** What was exported: a table (as PostgreSQL names it) or a query. */
  source: { table: string } | { query: string };
  format: 'json' | 'ndjson';
  /** The dated file this manifest describes (the latest copy has the same bytes). */
  key: string;
  exportedAt: string;
  rows: number;
  size: number;
  sha256: string;
  workflow: { id: string; runId: string };
}

const schema = z.object({
  formatVersion: z.literal(EXPORT_MANIFEST_FORMAT_VERSION),
  kind: z.literal('export'),
  target: z.string(),
  database: z.string(),
  name: z.string(),
  source: z.union([z.object({ table: z.string() }), z.object({ query: z.string() })]),
  format: z.enum(['json', 'ndjson']),
  key: z.string(),
  exportedAt: z.string(),
  rows: z.number().int().min(0),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  workflow: z.object({ id: z.string(), runId: z.string() }),
});

export function parseExportManifest(bytes: Buffer | string, where: string): ExportManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new StrongboxError(FailureType.CorruptData, `export manifest ${where} is not valid JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new StrongboxError(FailureType.CorruptData, `export manifest ${where} is malformed: ${result.error.issues[0]!.path.join('.')}`);
  return result.data as ExportManifest;
}

export function serializeExportManifest(manifest: ExportManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
