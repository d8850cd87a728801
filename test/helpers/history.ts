/**
 * Workflow histories in tests:
 * - `historyText`: a history as the standard tooling prints it (`temporal workflow show --output
 *   json`), flattened to searchable text: payloads there are base64, so they are decoded as well.
 * - `payloadSizes` / `familyPayloadSizes`: every payload a history holds (workflow and child
 *   inputs and results, activity inputs and results, signals, updates, memos, search attributes,
 *   headers, markers, failures' details), with its size and where it sits — to bound what travels
 *   through history (Temporal refuses a payload over 2 MB, and warns long before).
 */
import type { Client } from '@temporalio/client';
import { execa } from 'execa';
import { findBinary, TEMPORAL_CLI, type StackInfo } from '../../src/stack/index.js';

export async function historyText(stack: StackInfo, workflowId: string, codec?: { endpoint: string; auth?: string }): Promise<string> {
  const temporal = findBinary(TEMPORAL_CLI)!.path;
  const codecArgs = codec ? ['--codec-endpoint', codec.endpoint, ...(codec.auth ? ['--codec-auth', codec.auth] : [])] : [];
  const { stdout } = await execa(temporal, [
    'workflow',
    'show',
    '--output',
    'json',
    '--address',
    stack.temporal.address,
    '--namespace',
    stack.temporal.namespace,
    '--workflow-id',
    workflowId,
    ...codecArgs,
  ]);
  const pieces: string[] = [stdout];
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key === 'data') pieces.push(Buffer.from(value, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) {
      value.forEach((v) => visit(v, key));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(JSON.parse(stdout), '');
  return pieces.join('\n');
}

/** One payload field of one history event. */
export interface PayloadSize {
  workflowId: string;
  eventId: number;
  /** The event's type as Temporal names it, e.g. `ActivityTaskScheduled`, `WorkflowExecutionCompleted`. */
  eventType: string;
  /** The activity or child workflow type the event is about, when it is about one. */
  about?: string;
  /** Where in the event's attributes, e.g. `input`, `result`, `failure.cause.applicationFailureInfo.details`, `memo.fields.x`. */
  field: string;
  /**
   * Bytes of the field as protobuf encodes it: a `Payloads` (the arguments of one call, what
   * Temporal's size limits check) counts as one, a lone `Payload` (memo, search attribute) too.
   */
  bytes: number;
}

type HistoryEvent = Record<string, unknown> & { eventId?: unknown };

/** Every payload field of a history's events (`WorkflowHandle.fetchHistory()`), largest first. */
export function payloadSizes(workflowId: string, history: { events?: unknown[] | null }): PayloadSize[] {
  const events = (history.events ?? []) as HistoryEvent[];
  // Completed/failed/started events name their scheduling event only; give them its type.
  const typeOfScheduled = new Map<string, string>();
  const sizes: PayloadSize[] = [];
  for (const event of events) {
    const eventId = Number(String(event.eventId)); // a Long from protobufjs
    const attributesKey = Object.keys(event).find((key) => key.endsWith('EventAttributes') && event[key] != null);
    if (!attributesKey) continue;
    const attributes = event[attributesKey] as Record<string, unknown>;
    const eventType = attributesKey.charAt(0).toUpperCase() + attributesKey.slice(1, -'EventAttributes'.length);
    const typeName = nameOf(attributes.activityType) ?? nameOf(attributes.workflowType);
    if (typeName) typeOfScheduled.set(String(eventId), typeName);
    const about = typeName ?? typeOfScheduled.get(String(attributes.scheduledEventId ?? attributes.initiatedEventId));
    walk(attributes, '', (field, bytes) => sizes.push({ workflowId, eventId, eventType, ...(about ? { about } : {}), field, bytes }));
  }
  return sizes.sort((a, b) => b.bytes - a.bytes);
}

/**
 * The payloads of a workflow's history and of every child workflow it started, and theirs
 * (`verify-…-after-backup` from a backup, the restore a disaster recovery starts), largest first.
 * `alsoIds` adds workflows the family does not start (a verification run started on its own).
 */
export async function familyPayloadSizes(client: Client, workflowId: string, ...alsoIds: string[]): Promise<PayloadSize[]> {
  const seen = new Set<string>();
  const queue = [workflowId, ...alsoIds];
  const sizes: PayloadSize[] = [];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const history = await client.workflow.getHandle(id).fetchHistory();
    sizes.push(...payloadSizes(id, history));
    for (const event of (history.events ?? []) as HistoryEvent[]) {
      const started = event.childWorkflowExecutionStartedEventAttributes as
        { workflowExecution?: { workflowId?: string | null } } | null | undefined;
      const childId = started?.workflowExecution?.workflowId;
      if (childId) queue.push(childId);
    }
  }
  return sizes.sort((a, b) => b.bytes - a.bytes);
}

/** Per workflow and event type and field, the largest payload and how many there were: a table for a report. */
export function summarizePayloadSizes(sizes: PayloadSize[]): string {
  const groups = new Map<string, { largest: PayloadSize; count: number; total: number }>();
  for (const size of sizes) {
    const key = `${size.workflowId} ${size.eventType}${size.about ? `(${size.about})` : ''} ${size.field}`;
    const group = groups.get(key);
    if (!group) groups.set(key, { largest: size, count: 1, total: size.bytes });
    else {
      group.count += 1;
      group.total += size.bytes;
      if (size.bytes > group.largest.bytes) group.largest = size;
    }
  }
  return [...groups.entries()]
    .sort(([, a], [, b]) => b.largest.bytes - a.largest.bytes)
    .map(
      ([key, { largest, count, total }]) =>
        `${formatBytes(largest.bytes).padStart(10)}  ×${String(count).padEnd(4)} total ${formatBytes(total).padStart(10)}  ${key} (largest: event ${largest.eventId})`,
    )
    .join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function nameOf(value: unknown): string | undefined {
  const name = (value as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * Calls `found` for every Payloads (`{ payloads: [...] }`) and every lone Payload (`{ data,
 * metadata }`) under `value`, with its dotted path. The payloads of a Payloads are not visited again.
 */
function walk(value: unknown, path: string, found: (field: string, bytes: number) => void): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${path}[${index}]`, found));
    return;
  }
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.payloads)) {
    found(path, payloadsSize(record.payloads as PayloadLike[]));
    return;
  }
  if (isPayload(record)) {
    found(path, payloadSize(record));
    return;
  }
  for (const [key, child] of Object.entries(record)) walk(child, path ? `${path}.${key}` : key, found);
}

interface PayloadLike {
  metadata?: Record<string, Uint8Array | null | undefined> | null;
  data?: Uint8Array | null;
}

function isPayload(record: Record<string, unknown>): record is PayloadLike & Record<string, unknown> {
  return (
    record.data instanceof Uint8Array ||
    (record.metadata !== null &&
      typeof record.metadata === 'object' &&
      Object.values(record.metadata as object).some((v) => v instanceof Uint8Array))
  );
}

/** Protobuf size of `Payloads { repeated Payload payloads = 1; }`. */
function payloadsSize(payloads: PayloadLike[]): number {
  return payloads.reduce((sum, payload) => sum + lengthDelimited(payloadSize(payload)), 0);
}

/** Protobuf size of `Payload { map<string, bytes> metadata = 1; bytes data = 2; }`. */
function payloadSize(payload: PayloadLike): number {
  let size = 0;
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    const entry = lengthDelimited(Buffer.byteLength(key)) + lengthDelimited(value?.length ?? 0);
    size += lengthDelimited(entry);
  }
  if (payload.data && payload.data.length > 0) size += lengthDelimited(payload.data.length);
  return size;
}

/** A length-delimited field: one tag byte, the length as a varint, the bytes. */
function lengthDelimited(length: number): number {
  let varint = 1;
  for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) varint += 1;
  return 1 + varint + length;
}
