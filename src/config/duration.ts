/** Durations written as `30s`, `15m`, `4h`, `7d` (pure: workflows use it too). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: "${text}" (expected e.g. 30s, 15m, 4h, 7d)`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
