/**
 * The metric names a PromQL expression reads — enough of PromQL's lexical rules to check that alert
 * rules and dashboard panels name only metrics something exports. Not a parser: it drops what
 * cannot be a metric name (strings, label matchers, ranges, grouping clauses, function calls,
 * keywords, numbers, durations) and keeps the remaining identifiers.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Grafana's template variables (`$__rate_interval`, `${target}`) are not metrics. */
const GRAFANA_VARIABLE = /\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]/g;

export function metricNames(expression: string): string[] {
  let text = expression
    // Comments run to the end of the line.
    .replace(/#[^\n]*/g, ' ')
    .replace(GRAFANA_VARIABLE, ' ')
    // Strings ("…", '…', `…`), with escapes.
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    // Label matchers and range/subquery selectors.
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  // Grouping and matching clauses list labels, not metrics: `by (target, tier)`, `on (target)`.
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const identifier = /([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g;
  for (const match of text.matchAll(identifier)) {
    const [, name, call] = match;
    const before = text[match.index - 1];
    // Part of a number (1e3, 0x1f) or a duration (5m after a digit).
    if (before !== undefined && /[0-9.]/.test(before)) continue;
    if (call) continue; // a function: rate(, max(, histogram_quantile(
    if (KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names].sort();
}
