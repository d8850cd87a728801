/**
 * Where JSON exports live inside a destination's repository. Pure functions:
 *
 *   exports/<target>/<name>-<YYYYMMDDTHHMMSSZ>.json            one dated export (json or .ndjson)
 *   exports/<target>/<name>-<YYYYMMDDTHHMMSSZ>.manifest.json   its manifest: rows, size, SHA-256
 *   exports/<target>/<name>.json                               the latest export, a copy
 *   exports/<target>/<name>.manifest.json                      the latest export's manifest
 *
 * Targets stay apart in their own folders; the latest file keeps a fixed name to point tools at
 * (`exports/app/products.json` for the strategy's `exports/products.json`). Item names cannot hold
 * upper-case letters or dots, so a dated name never collides with another item's latest file.
 */
import { compactTime } from '../catalog/layout.js';

export const EXPORTS_ROOT = 'exports';
export type ExportFormat = 'json' | 'ndjson';

const MANIFEST_SUFFIX = '.manifest.json';

export function exportsPrefix(target: string): string {
  return `${EXPORTS_ROOT}/${target}/`;
}

export function datedExportKey(target: string, name: string, exportedAt: string, format: ExportFormat): string {
  return `${exportsPrefix(target)}${name}-${compactTime(exportedAt)}.${format}`;
}

export function datedManifestKey(target: string, name: string, exportedAt: string): string {
  return `${exportsPrefix(target)}${name}-${compactTime(exportedAt)}${MANIFEST_SUFFIX}`;
}

export function latestExportKey(target: string, name: string, format: ExportFormat): string {
  return `${exportsPrefix(target)}${name}.${format}`;
}

export function latestManifestKey(target: string, name: string): string {
  return `${exportsPrefix(target)}${name}${MANIFEST_SUFFIX}`;
}

export interface ParsedExportKey {
  target: string;
  name: string;
  /** `data` or `manifest` of a dated export, or the `latest` copies. */
  kind: 'data' | 'manifest' | 'latest' | 'latest-manifest';
  /** ISO time of a dated export (from its name). */
  exportedAt?: string;
}

export function parseExportKey(key: string): ParsedExportKey | undefined {
  const parts = key.split('/');
  if (parts.length !== 3 || parts[0] !== EXPORTS_ROOT) return undefined;
  const target = parts[1]!;
  const file = parts[2]!;
  const isManifest = file.endsWith(MANIFEST_SUFFIX);
  const stem = isManifest ? file.slice(0, -MANIFEST_SUFFIX.length) : file.replace(/\.(json|ndjson)$/, '');
  if (!isManifest && stem === file) return undefined;
  const dated = /^([a-z0-9][a-z0-9_-]*)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stem);
  if (dated) {
    const [, name, y, mo, d, h, mi, s] = dated;
    const exportedAt = `${y}-${mo}-${d}T${h}:${mi}:${s}.000Z`;
    if (Number.isNaN(new Date(exportedAt).getTime())) return undefined;
    return { target, name: name!, kind: isManifest ? 'manifest' : 'data', exportedAt };
  }
  if (/^[a-z0-9][a-z0-9_-]*$/.test(stem)) return { target, name: stem, kind: isManifest ? 'latest-manifest' : 'latest' };
  return undefined;
}
