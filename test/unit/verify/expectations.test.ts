import { describe, expect, it } from 'vitest';
import { describeExpectation, evaluateExpectation, type Expectation } from '../../../src/verify/expectations.js';

describe('SQL check expectations', () => {
  it.each<[string, unknown, Expectation, boolean]>([
    ['a bigint count as text equals its number', '500', { equals: 500 }, true],
    ['a count one short does not', '499', { equals: 500 }, false],
    ['a JavaScript number equals', 3, { equals: 3 }, true],
    ['a bigint equals', 7n, { equals: 7 }, true],
    ['numeric text with decimals', '12.50', { equals: 12.5 }, true],
    ['text that is not a number fails a numeric expectation', 'abc', { equals: 1 }, false],
    ['strings compare exactly', 'ok', { equals: 'ok' }, true],
    ['strings are case-sensitive', 'OK', { equals: 'ok' }, false],
    ['a boolean true', true, { equals: true }, true],
    ['PostgreSQL text t is true', 't', { equals: true }, true],
    ['false is not true', false, { equals: true }, false],
    ['a non-boolean fails a boolean expectation', 'maybe', { equals: true }, false],
    ['at the minimum passes', '100', { min: 100 }, true],
    ['below the minimum fails', '99', { min: 100 }, false],
    ['at the maximum passes', 10, { max: 10 }, true],
    ['above the maximum fails', 11, { max: 10 }, false],
    ['inside a range passes', '5', { min: 1, max: 10 }, true],
    ['outside a range fails', '0', { min: 1, max: 10 }, false],
    ['a range on text fails', 'many', { min: 1 }, false],
    ['equals and a range both apply', '3', { equals: 3, min: 1, max: 10 }, true],
    ['NULL fails anything', null, { min: 0 }, false],
    ['no row fails anything', undefined, { equals: 0 }, false],
    ['zero rows counted passes equals 0', '0', { equals: 0 }, true],
  ])('%s', (_name, value, expect_, passed) => {
    expect(evaluateExpectation(value, expect_).passed).toBe(passed);
  });

  it.each<[unknown, Expectation, string]>([
    ['500', { equals: 500 }, "returned '500' (expected = 500)"],
    ['3', { min: 100 }, "returned '3' (expected >= 100)"],
    [11, { min: 1, max: 10 }, 'returned 11 (expected between 1 and 10)'],
    ['x', { equals: 1 }, "returned 'x' (expected = 1; not a number)"],
    [null, { equals: 'ok' }, "returned NULL (expected = 'ok')"],
    [undefined, { max: 5 }, 'returned no rows (expected <= 5)'],
  ])('says what %s returned against %j', (value, expect_, detail) => {
    expect(evaluateExpectation(value, expect_).detail).toBe(detail);
  });

  it('describes combined expectations', () => {
    expect(describeExpectation({ equals: true, min: 1 })).toBe('= true and >= 1');
  });
});
