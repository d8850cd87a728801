/** Rates written as `50MiB/s`, `500KiB/s`, `10MB/s`, or `0` for no bound (pure: the schema uses it). */
const UNITS: Record<string, number> = { B: 1, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
export const BANDWIDTH_PATTERN = /^(\d+(?:\.\d+)?)(B|KB|MB|GB|KiB|MiB|GiB)\/s$/;

/** `50MiB/s` → bytes per second; `0` (or `unlimited`) → 0, no bound. */
export function parseBandwidth(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0' || trimmed === 'unlimited') return 0;
  const match = BANDWIDTH_PATTERN.exec(trimmed);
  if (!match) throw new Error(`not a bandwidth: "${text}" (expected e.g. 50MiB/s, 500KiB/s, or 0 for no bound)`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
