/**
 * SQL checks: a query returning one value and what that value must be (`equals`, `min`, `max`).
 * Pure and workflow-safe: the check activity runs the query, this decides whether it passed.
 */

/** What a check expects, as written in `targets.<name>.checks[].expect`. */
export interface Expectation {
  equals?: number | string | boolean | undefined;
  min?: number | undefined;
  max?: number | undefined;
}

export interface ExpectationResult {
  passed: boolean;
  /** What the query returned and what was expected, for the verification record. */
  detail: string;
}

/** Evaluates the first column of the first row a check's query returned (`undefined`: no row). */
export function evaluateExpectation(value: unknown, expect: Expectation): ExpectationResult {
  const wanted = describeExpectation(expect);
  if (value === undefined) return { passed: false, detail: `returned no rows (expected ${wanted})` };
  if (value === null) return { passed: false, detail: `returned NULL (expected ${wanted})` };
  const shown = show(value);
  const fail = (why: string): ExpectationResult => ({
    passed: false,
    detail: `returned ${shown} (expected ${wanted}${why ? `; ${why}` : ''})`,
  });

  if (expect.equals !== undefined) {
    const equals = expect.equals;
    if (typeof equals === 'number') {
      const n = toNumber(value);
      if (n === undefined) return fail('not a number');
      if (n !== equals) return fail('');
    } else if (typeof equals === 'boolean') {
      const b = toBoolean(value);
      if (b === undefined) return fail('not a boolean');
      if (b !== equals) return fail('');
    } else if (String(value) !== equals) {
      return fail('');
    }
  }
  if (expect.min !== undefined || expect.max !== undefined) {
    const n = toNumber(value);
    if (n === undefined) return fail('not a number');
    if (expect.min !== undefined && n < expect.min) return fail('');
    if (expect.max !== undefined && n > expect.max) return fail('');
  }
  return { passed: true, detail: `returned ${shown} (expected ${wanted})` };
}

/** `= 500`, `>= 1`, `between 1 and 10`, `= 'ok'`, `>= 1 and = 3`. */
export function describeExpectation(expect: Expectation): string {
  const parts: string[] = [];
  if (expect.equals !== undefined) parts.push(`= ${typeof expect.equals === 'string' ? `'${expect.equals}'` : String(expect.equals)}`);
  if (expect.min !== undefined && expect.max !== undefined) parts.push(`between ${expect.min} and ${expect.max}`);
  else if (expect.min !== undefined) parts.push(`>= ${expect.min}`);
  else if (expect.max !== undefined) parts.push(`<= ${expect.max}`);
  return parts.length > 0 ? parts.join(' and ') : 'anything';
}

/** Numbers as PostgreSQL hands them to node-postgres: numbers, bigints, and numeric/bigint text. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (/^(t|true|on|yes|1)$/i.test(value)) return true;
    if (/^(f|false|off|no|0)$/i.test(value)) return false;
  }
  return undefined;
}

const MAX_SHOWN = 80;

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value}'`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const json = JSON.stringify(value) ?? String(value);
    return json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}…` : json;
  }
  return String(value);
}
