import { describe, expect, it } from 'vitest';
import { tiersFor } from '../../../src/schedules/tiers.js';

const utc = { timezone: 'UTC', weeklyOn: 'sunday' as const, monthlyOn: 1 };

describe('tiers of a nightly backup', () => {
  it.each([
    ['2026-11-24T02:00:00Z', utc, ['daily']],
    ['2026-11-29T02:00:00Z', utc, ['daily', 'weekly']], // a Sunday
    ['2026-12-01T02:00:00Z', utc, ['daily', 'monthly']], // a Tuesday, the 1st
    ['2026-11-01T02:00:00Z', utc, ['daily', 'weekly', 'monthly']], // Sunday the 1st: one dump, three tiers
    ['2028-02-29T02:00:00Z', utc, ['daily']], // leap day
    // 23:30 UTC on Saturday is already Sunday in Berlin.
    ['2026-11-28T23:30:00Z', { ...utc, timezone: 'Europe/Berlin' }, ['daily', 'weekly']],
    ['2026-11-28T23:30:00Z', utc, ['daily']],
    ['2026-11-15T02:00:00Z', { ...utc, weeklyOn: 'monday' as const, monthlyOn: 15 }, ['daily', 'monthly']],
  ])('%s serves %j', (scheduledAt, calendar, expected) => {
    expect(tiersFor(scheduledAt, calendar)).toEqual(expected);
  });
});
