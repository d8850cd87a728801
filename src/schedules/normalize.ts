/**
 * Comparing a desired schedule with what the server holds. Temporal gives a schedule back in its
 * own expanded form (every calendar field as ranges, durations in ms, an empty time zone for UTC),
 * so both sides are brought to one normalized form first: calendar fields become explicit sorted
 * value lists. `apply` updates a schedule only when the normalized forms differ — running it twice
 * changes nothing. Pure.
 */
import {
  DAYS_OF_WEEK,
  MONTHS,
  type CalendarSpecDescription,
  type Range,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { DesiredSchedule, ScheduleCalendar, Weekday } from './desired.js';

export interface NormalizedCalendar {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: number[];
  month: string[];
  year: number[];
  dayOfWeek: string[];
  comment: string;
}

export interface NormalizedSchedule {
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  /** Canonical JSON (sorted keys) of the workflow arguments. */
  args: string;
  summary: string;
  calendars: NormalizedCalendar[];
  intervals: number;
  timezone: string;
  overlap: string;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
}

const ALL_HOURS = span(0, 23);
const ALL_DAYS = span(1, 31);

export function normalizeDesired(schedule: DesiredSchedule): NormalizedSchedule {
  return {
    workflowType: schedule.workflowType,
    workflowId: schedule.workflowId,
    taskQueue: schedule.taskQueue,
    args: canonicalJson(schedule.args),
    summary: schedule.summary,
    calendars: schedule.spec.calendars.map(normalizeCalendar),
    intervals: 0,
    timezone: schedule.spec.timezone || 'UTC',
    overlap: schedule.policies.overlap,
    catchupWindowMs: schedule.policies.catchupWindowMs,
    pauseOnFailure: schedule.policies.pauseOnFailure,
  };
}

/** `sunday` (the configuration's spelling) → `SUNDAY` (Temporal's). */
function weekdayName(day: Weekday): (typeof DAYS_OF_WEEK)[number] {
  return day.toUpperCase() as (typeof DAYS_OF_WEEK)[number];
}

function normalizeCalendar(calendar: ScheduleCalendar): NormalizedCalendar {
  return {
    second: [0],
    minute: [calendar.minute].flat().sort((a, b) => a - b),
    hour: calendar.hour === '*' ? ALL_HOURS : [calendar.hour],
    dayOfMonth: calendar.dayOfMonth === undefined ? ALL_DAYS : [calendar.dayOfMonth],
    month: [...MONTHS],
    year: [],
    dayOfWeek:
      calendar.dayOfWeek === undefined
        ? [...DAYS_OF_WEEK]
        : DAYS_OF_WEEK.filter((d) => [calendar.dayOfWeek!].flat().map(weekdayName).includes(d)),
    comment: calendar.comment,
  };
}

export function normalizeDescription(description: ScheduleDescription): NormalizedSchedule {
  const action = description.action;
  return {
    workflowType: action.workflowType,
    workflowId: action.workflowId ?? '',
    taskQueue: action.taskQueue ?? '',
    args: canonicalJson(action.args ?? []),
    summary: action.staticSummary ?? '',
    calendars: (description.spec.calendars ?? []).map(expandCalendar),
    intervals: description.spec.intervals?.length ?? 0,
    timezone: description.spec.timezone || 'UTC',
    overlap: description.policies.overlap ?? 'SKIP',
    catchupWindowMs: description.policies.catchupWindow,
    pauseOnFailure: description.policies.pauseOnFailure,
  };
}

function expandCalendar(calendar: CalendarSpecDescription): NormalizedCalendar {
  return {
    second: expandNumbers(calendar.second),
    minute: expandNumbers(calendar.minute),
    hour: expandNumbers(calendar.hour),
    dayOfMonth: expandNumbers(calendar.dayOfMonth),
    month: expandNames(calendar.month, MONTHS),
    year: expandNumbers(calendar.year),
    dayOfWeek: expandNames(calendar.dayOfWeek, DAYS_OF_WEEK),
    comment: calendar.comment ?? '',
  };
}

function expandNumbers(ranges: Range<number>[] | undefined): number[] {
  const values = new Set<number>();
  for (const r of ranges ?? []) {
    const end = r.end < r.start ? r.start : r.end;
    for (let v = r.start; v <= end; v += Math.max(1, r.step)) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function expandNames<T extends string>(ranges: Range<T>[] | undefined, names: readonly T[]): string[] {
  const indexes = expandNumbers((ranges ?? []).map((r) => ({ start: names.indexOf(r.start), end: names.indexOf(r.end), step: r.step })));
  return indexes.map((i) => names[i]!);
}

function span(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Fields that differ, named for people (`spec.calendars`, `action.args`); empty when equal. */
export function diffSchedules(current: NormalizedSchedule, desired: NormalizedSchedule): string[] {
  const names: Record<keyof NormalizedSchedule, string> = {
    workflowType: 'action.workflowType',
    workflowId: 'action.workflowId',
    taskQueue: 'action.taskQueue',
    args: 'action.args',
    summary: 'action.summary',
    calendars: 'spec.calendars',
    intervals: 'spec.intervals',
    timezone: 'spec.timezone',
    overlap: 'policies.overlap',
    catchupWindowMs: 'policies.catchupWindow',
    pauseOnFailure: 'policies.pauseOnFailure',
  };
  return (Object.keys(names) as Array<keyof NormalizedSchedule>)
    .filter((k) => canonicalJson(current[k]) !== canonicalJson(desired[k]))
    .map((k) => names[k]);
}

/** The desired schedule as Temporal's create options. */
export function toScheduleOptions(
  schedule: DesiredSchedule,
  state: ScheduleOptions['state'] = {},
): ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  return {
    scheduleId: schedule.id,
    spec: {
      calendars: schedule.spec.calendars.map((c) => ({
        hour: c.hour,
        minute: c.minute,
        ...(c.dayOfMonth === undefined ? {} : { dayOfMonth: c.dayOfMonth }),
        ...(c.dayOfWeek === undefined
          ? {}
          : { dayOfWeek: Array.isArray(c.dayOfWeek) ? c.dayOfWeek.map(weekdayName) : weekdayName(c.dayOfWeek) }),
        comment: c.comment,
      })),
      timezone: schedule.spec.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: schedule.workflowType,
      args: schedule.args,
      taskQueue: schedule.taskQueue,
      workflowId: schedule.workflowId,
      staticSummary: schedule.summary,
    },
    policies: {
      overlap: schedule.policies.overlap,
      catchupWindow: schedule.policies.catchupWindowMs,
      pauseOnFailure: schedule.policies.pauseOnFailure,
    },
    memo: { ...schedule.memo },
    state,
  };
}

/** "daily at 02:00 UTC", "monthly on day 1 at 06:00 Europe/Berlin", "hourly at :00 UTC". */
export function describeSpec(schedule: Pick<NormalizedSchedule, 'calendars' | 'intervals' | 'timezone'>): string {
  const parts = schedule.calendars.map((c) => {
    const minute = c.minute.length === 1 ? String(c.minute[0]).padStart(2, '0') : '*';
    const everyDay = c.dayOfMonth.length === 31 && c.dayOfWeek.length === 7 && c.month.length === 12;
    const step = c.minute.length > 1 ? c.minute[1]! - c.minute[0]! : 0;
    if (
      c.hour.length === 24 &&
      everyDay &&
      step > 0 &&
      c.minute.every((m, i) => m === c.minute[0]! + i * step) &&
      c.minute[0]! < step &&
      60 % step === 0
    )
      return `every ${step} minutes`;
    if (c.hour.length === 24 && everyDay) return `hourly at :${minute}`;
    const time = c.hour.length === 1 ? `${String(c.hour[0]).padStart(2, '0')}:${minute}` : `hours ${c.hour.join(',')} at :${minute}`;
    if (everyDay) return `daily at ${time}`;
    if (c.dayOfMonth.length < 31 && c.dayOfWeek.length === 7 && c.month.length === 12)
      return `monthly on day ${c.dayOfMonth.join(',')} at ${time}`;
    if (c.dayOfWeek.length < 7 && c.dayOfMonth.length === 31)
      return `weekly on ${c.dayOfWeek.map((d) => d.toLowerCase()).join(',')} at ${time}`;
    return `at ${time} (days ${c.dayOfMonth.join(',')}, ${c.dayOfWeek.join(',')}, ${c.month.join(',')})`;
  });
  if (schedule.intervals > 0) parts.push(`${schedule.intervals} interval(s)`);
  return `${parts.join('; ') || 'no calendar'} ${schedule.timezone}`;
}
