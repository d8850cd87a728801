/**
 * One interface over every destination. Workflows and activities speak in keys relative to a
 * destination's root; whether the bytes land in a directory or a bucket is the driver's business.
 *
 * Contract shared by all drivers:
 * - `putFile` streams (never buffers a whole file), is idempotent (an object already stored with
 *   the same SHA-256 counts as done) and verifies what was stored before returning.
 * - `putBytes` is for small JSON records; with `ifAbsent` it never overwrites (audit, evidence).
 * - `delete` removes every stored version; an object under a retention lock is reported `locked`,
 *   never an error. A credential that may not delete is an error (permission), never `locked`.
 * - `replaceHead` swaps the first bytes of a stored object for others and leaves the rest
 *   byte-identical, moving as little as the store allows (S3: the rest is copied inside the store;
 *   locally: one pass on the disk). A crash leaves the old object whole, or the new one.
 * - `listIncompleteUploads` finds unfinished uploads under a prefix however the store lists them:
 *   some (MinIO after a restart) show an upload only when asked for its exact key, so callers that
 *   know the keys a backup's uploads can have pass them too.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** SHA-256 (hex) of the stored bytes when the driver records it. */
  sha256?: string;
  /**
   * The store's entity tag, when it has one (S3): changes whenever the object is rewritten, so a
   * copy proven intact under one ETag and still carrying it has not been replaced since.
   */
  etag?: string;
  /** End of a retention lock, when the object is under one. */
  retainUntil?: Date;
  /** True when the object is under a legal hold (S3). */
  legalHold?: boolean;
}

/** Where an interrupted upload stands, kept in activity heartbeats to resume after a crash. */
export interface UploadCheckpoint {
  key: string;
  uploadId: string;
  partSize: number;
  /** Parts acknowledged by the store. */
  parts: Array<{ partNumber: number; etag: string; checksum: string }>;
}

export interface PutFileOptions {
  /** SHA-256 (hex) of the file, recorded when it was produced; re-checked while reading. */
  sha256: string;
  size: number;
  signal?: AbortSignal;
  /** Called with the bytes stored so far. */
  onProgress?: (bytes: number) => void;
  /** A checkpoint from a previous attempt to resume from. */
  resume?: UploadCheckpoint;
  /** Called whenever the upload's checkpoint changes (to heartbeat it). */
  onCheckpoint?: (checkpoint: UploadCheckpoint) => void;
  /** Retention lock until this time, on stores that support it. */
  retainUntil?: Date;
  /**
   * Write even when an object with the recorded size and SHA-256 seems to be there: a repair
   * replaces a copy whose metadata may still claim the right checksum over damaged bytes.
   */
  replace?: boolean;
}

export interface PutResult {
  key: string;
  size: number;
  sha256: string;
  /** False when an identical object was already there. */
  uploaded: boolean;
}

export interface PutBytesOptions {
  /** Fail with `exists` instead of overwriting. */
  ifAbsent?: boolean;
  contentType?: string;
  retainUntil?: Date;
}

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Where an interrupted `replaceHead` stands, kept in activity heartbeats to resume after a crash. */
export interface ReplaceHeadCheckpoint {
  key: string;
  /** S3: the multipart upload assembling the new object, under a temporary key beside it. */
  uploadId?: string;
  /** S3: the version of the object being read, so every part comes from the same bytes. */
  sourceVersion?: string;
  /** Parts acknowledged by the store. */
  parts: Array<{ partNumber: number; etag: string }>;
}

export interface ReplaceHeadOptions {
  /** How many bytes at the start of the object are replaced. */
  oldHeadLength: number;
  /** What replaces them. */
  newHead: Buffer;
  /** The object's size now: anything else is not the copy the caller read, and is left alone. */
  expectedSize: number;
  /** Its SHA-256 now, checked where the store keeps one (S3 metadata) before anything is written. */
  expectedSha256?: string;
  /**
   * The new object's SHA-256 when already known (another copy of the same bytes was rewritten
   * first): recorded with it, checked against the store's own where it computes one, and otherwise
   * spares reading the object back to learn it.
   */
  newSha256?: string;
  signal?: AbortSignal;
  resume?: ReplaceHeadCheckpoint;
  onCheckpoint?: (checkpoint: ReplaceHeadCheckpoint) => void;
}

/** Bytes a `replaceHead` moved, by where they went: what key rotation is measured by. */
export interface TransferCount {
  /** Sent from this process to the store (written to the disk, locally). */
  uploaded: number;
  /** Read by this process from the store (or the disk, locally). */
  downloaded: number;
  /** Copied inside the store without passing through this process (S3 UploadPartCopy / CopyObject). */
  copiedInStore: number;
}

export interface ReplaceHeadResult {
  key: string;
  /** Size and SHA-256 (hex) of the object as now stored. */
  size: number;
  sha256: string;
  transfer: TransferCount;
}

export type DeleteOutcome = 'deleted' | 'absent' | 'locked';

/** What a destination's store says about object lock (S3: the bucket's object-lock configuration). */
export interface ObjectLockStatus {
  /** `unknown` when the credential may not read the configuration (`reason` says why). */
  enabled: boolean | 'unknown';
  /** The bucket's default retention, applied to objects written without their own. */
  defaultRetention?: { mode: string; days?: number; years?: number };
  reason?: string;
}

export interface Storage {
  /** The destination's name in the configuration (`local`, `cloud`, `offsite`…). */
  readonly destination: string;
  readonly kind: 'local' | 's3';
  /** Where the repository is, for messages: `/var/backups` or `s3://bucket/prefix`. */
  describe(): string;
  /** Fails with a clear, non-retryable error when the destination is missing or refuses us. */
  checkAccess(): Promise<void>;
  putFile(key: string, file: string, options: PutFileOptions): Promise<PutResult>;
  putBytes(key: string, body: Buffer | string, options?: PutBytesOptions): Promise<'written' | 'exists'>;
  getStream(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  getBytes(key: string): Promise<Buffer>;
  /** Bytes `start` up to (not including) `end` of an object, or fewer when it is shorter; for small ranges (headers). */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Replaces the object's first `oldHeadLength` bytes with `newHead`; the rest stays byte-identical (see the contract above). */
  replaceHead(key: string, options: ReplaceHeadOptions): Promise<ReplaceHeadResult>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<DeleteOutcome>;
  /** Uploads begun and never completed or aborted (S3 multipart; partial files locally). */
  listIncompleteUploads(prefix: string, options?: { keys?: readonly string[] }): Promise<IncompleteUpload[]>;
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void>;
  /**
   * Sets or clears the store's own legal hold on an object, where the store has one (S3 buckets
   * with object lock); `unsupported` when this bucket cannot (no object lock). Absent: no such thing.
   */
  setLegalHold?(key: string, on: boolean): Promise<'set' | 'unsupported'>;
  /** Whether the store can lock objects here, and how by default. Absent: a store without object lock. */
  objectLockStatus?(): Promise<ObjectLockStatus>;
}
