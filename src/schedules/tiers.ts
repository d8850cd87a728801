/**
 * Which tiers a nightly backup serves. One dump a night: the night's backup is always the daily;
 * on the weekly day it is also the weekly, on the monthly day also the monthly. The manifest lists
 * every tier, and retention keeps each copy for the longest tier that placed it there.
 */
import type { Tier } from '../domain.js';
import { WEEKDAYS } from '../config/schema.js';

export interface TierCalendar {
  timezone: string;
  weeklyOn: (typeof WEEKDAYS)[number];
  monthlyOn: number;
}

/** The calendar date of an instant in a time zone: weekday name and day of month. */
export function localDate(instant: Date, timezone: string): { weekday: (typeof WEEKDAYS)[number]; day: number; date: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    weekday: 'long',
    day: 'numeric',
    month: '2-digit',
    year: 'numeric',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    weekday: get('weekday').toLowerCase() as (typeof WEEKDAYS)[number],
    day: Number(get('day')),
    date: `${get('year')}-${get('month')}-${get('day').padStart(2, '0')}`,
  };
}

export function tiersFor(scheduledAt: string, calendar: TierCalendar): Tier[] {
  const local = localDate(new Date(scheduledAt), calendar.timezone);
  const tiers: Tier[] = ['daily'];
  if (local.weekday === calendar.weeklyOn) tiers.push('weekly');
  if (local.day === calendar.monthlyOn) tiers.push('monthly');
  return tiers;
}
