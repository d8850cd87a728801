import { describe, expect, it } from 'vitest';
import { parseToTime } from '../../../src/client/dr.js';

describe('parseToTime', () => {
  it.each([
    ['2026-12-05T14:04:59Z', '2026-12-05T14:04:59.000Z'],
    ['2026-12-05T14:04:59.250Z', '2026-12-05T14:04:59.250Z'],
    ['2026-12-05 15:04:59+01:00', '2026-12-05T14:04:59.000Z'],
    ['2026-12-05T09:04:59-0500', '2026-12-05T14:04:59.000Z'],
  ])('reads %s as %s (UTC)', (text, iso) => {
    expect(parseToTime(text)).toBe(iso);
  });

  it.each([
    ['2026-12-05T14:04:59', /has no time zone — add Z \(UTC\) or an offset/],
    ['yesterday', /is not a time — give an ISO 8601 time with its zone/],
    ['2026-12-05', /is not a time/],
    ['2026-13-45T25:00:00Z', /is not a time/],
  ])('refuses %s', (text, message) => {
    expect(() => parseToTime(text)).toThrow(message);
  });
});
