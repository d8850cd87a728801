/**
 * The payload measurement the history-size tests rely on: every payload of a history is found,
 * attributed to its event and activity, and measured as protobuf encodes it.
 */
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { payloadSizes, summarizePayloadSizes } from '../../helpers/history.js';

const { Payload, Payloads } = temporal.api.common.v1;
const { History } = temporal.api.history.v1;

const json = (value: unknown) =>
  Payload.create({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });
const payloads = (...values: unknown[]) => Payloads.create({ payloads: values.map(json) });
const encodedSize = (message: temporal.api.common.v1.IPayloads) => Payloads.encode(message).finish().length;

/** A history as the client hands it over: encoded and decoded again (Longs, Buffers, defaults). */
function roundTrip(events: object[]) {
  return History.decode(History.encode(History.fromObject({ events })).finish());
}

describe('payloadSizes', () => {
  const big = 'x'.repeat(300_000);
  const input = payloads({ target: 'app' }, { tables: big });
  const result = payloads({ manifest: big.slice(0, 1000) });
  const details = payloads({ reason: 'why' });
  const history = roundTrip([
    {
      eventId: 1,
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'backupWorkflow' },
        input: payloads({ target: 'app' }),
        memo: { fields: { who: json('alice') } },
      },
    },
    { eventId: 5, activityTaskScheduledEventAttributes: { activityType: { name: 'writeManifest' }, input } },
    { eventId: 7, activityTaskCompletedEventAttributes: { scheduledEventId: 5, result } },
    { eventId: 8, activityTaskScheduledEventAttributes: { activityType: { name: 'dumpDatabase' } } },
    {
      eventId: 9,
      activityTaskFailedEventAttributes: {
        scheduledEventId: 8,
        failure: { message: 'no', cause: { message: 'deeper', applicationFailureInfo: { details } } },
      },
    },
    { eventId: 10, markerRecordedEventAttributes: { markerName: 'x', details: { data: payloads(1) } } },
    {
      eventId: 11,
      startChildWorkflowExecutionInitiatedEventAttributes: {
        workflowType: { name: 'verifyBackupWorkflow' },
        input: payloads({ backup: 'b' }),
      },
    },
    { eventId: 12, childWorkflowExecutionCompletedEventAttributes: { initiatedEventId: 11, result: payloads({ passed: true }) } },
    { eventId: 13, workflowExecutionCompletedEventAttributes: { result: payloads('done') } },
  ]);

  it('finds every payload, names its event, activity or child, and field, largest first', () => {
    const sizes = payloadSizes('wf', history);
    const where = sizes.map((s) => `${s.eventId} ${s.eventType}${s.about ? `(${s.about})` : ''} ${s.field}`);
    expect(where.slice(0, 2)).toEqual(['5 ActivityTaskScheduled(writeManifest) input', '7 ActivityTaskCompleted(writeManifest) result']);
    expect([...where].sort()).toEqual([
      '1 WorkflowExecutionStarted(backupWorkflow) input',
      '1 WorkflowExecutionStarted(backupWorkflow) memo.fields.who',
      '10 MarkerRecorded details.data',
      '11 StartChildWorkflowExecutionInitiated(verifyBackupWorkflow) input',
      '12 ChildWorkflowExecutionCompleted(verifyBackupWorkflow) result',
      '13 WorkflowExecutionCompleted result',
      '5 ActivityTaskScheduled(writeManifest) input',
      '7 ActivityTaskCompleted(writeManifest) result',
      '9 ActivityTaskFailed(dumpDatabase) failure.cause.applicationFailureInfo.details',
    ]);
  });

  it("measures a call's arguments as protobuf encodes them", () => {
    const sizes = payloadSizes('wf', history);
    const at = (eventId: number, field: string) => sizes.find((s) => s.eventId === eventId && s.field === field)!.bytes;
    expect(at(5, 'input')).toBe(encodedSize(input));
    expect(at(5, 'input')).toBeGreaterThan(300_000);
    expect(at(7, 'result')).toBe(encodedSize(result));
    expect(at(9, 'failure.cause.applicationFailureInfo.details')).toBe(encodedSize(details));
    expect(at(1, 'memo.fields.who')).toBe(Payload.encode(json('alice')).finish().length);
  });

  it('summarizes by workflow, event type and field', () => {
    const summary = summarizePayloadSizes(payloadSizes('wf', history)).split('\n');
    expect(summary[0]).toMatch(
      /^\s*29\d\.\d KiB\s+×1\s+total\s+29\d\.\d KiB\s+wf ActivityTaskScheduled\(writeManifest\) input \(largest: event 5\)$/,
    );
    expect(summary).toHaveLength(9);
  });
});
