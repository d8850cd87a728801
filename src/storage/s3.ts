/**
 * The S3 destination driver (AWS S3, MinIO and other S3-compatible stores).
 *
 * Large files go up as a multipart upload we drive ourselves rather than through lib-storage's
 * `Upload`, because an upload must survive the worker: the upload id and finished parts are handed
 * to `onCheckpoint` (heartbeated by the activity), and the next attempt continues from them instead
 * of starting over. lib-storage cannot adopt an existing upload id. Every part carries its SHA-256,
 * which the store verifies on receipt; the whole object's SHA-256 is stored as metadata and checked
 * after completion.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ObjectLockMode,
} from '@aws-sdk/client-s3';
import type { S3DestinationConfig } from '../config/schema.js';
import { classify, StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { assertValidKey } from './keys.js';
import type {
  DeleteOutcome,
  IncompleteUpload,
  ObjectInfo,
  ObjectLockStatus,
  PutBytesOptions,
  PutFileOptions,
  PutResult,
  ReplaceHeadCheckpoint,
  ReplaceHeadOptions,
  ReplaceHeadResult,
  Storage,
  TransferCount,
  UploadCheckpoint,
} from './storage.js';
import { IO_CHUNK_SIZE } from './io.js';

/** Smallest part we send: S3's minimum is 5 MiB; 16 MiB keeps request overhead low. */
const MIN_PART_SIZE = 16 * 1024 * 1024;
/** S3 allows at most 10,000 parts per upload; larger files get larger parts. */
const MAX_PARTS = 10_000;
/** Parts in flight at once; each streams from the file, so memory does not grow with it. */
const UPLOAD_CONCURRENCY = 4;
const READ_SIZE = IO_CHUNK_SIZE;
/** Longest wait for a TCP connection to the store; only the connect phase, never a slow transfer. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Sockets per client, kept alive between requests: the SDK's own defaults, kept when the agent is ours. */
const MAX_SOCKETS = 50;
/**
 * replaceHead's first part: the new head and this much of the old object after its old head. Every
 * part of a multipart upload but the last must be at least 5 MiB (S3's minimum), and only the first
 * part's bytes pass through this process; the rest is copied inside the store (UploadPartCopy).
 */
const HEAD_PART_TAIL = 5 * 1024 * 1024;
/** Objects this small are rewritten whole by replaceHead: one GET and one PUT, no multipart. */
const REWRITE_WHOLE_LIMIT = 2 * HEAD_PART_TAIL;
/** Parts copied inside the store: large (fewer requests; S3 allows up to 5 GiB), small enough to resume by. */
const COPY_PART_SIZE = 256 * 1024 * 1024;
/** The largest object S3's CopyObject accepts (5 GiB): beyond it the new digest is computed by reading. */
const MAX_COPY_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;
/** Suffix of the temporary key a reassembled object is built under before it is copied into place. */
export const REASSEMBLY_SUFFIX = '.rekey-partial';
/** Metadata key holding the object's SHA-256 (hex); S3 stores it as x-amz-meta-sha256. */
const SHA256_METADATA = 'sha256';

/**
 * The SDK's Node request handler (NodeHttpHandler) with Strongbox's connect timeout and, for a
 * store whose certificate a private CA signed (the local stack's MinIO), an HTTPS agent trusting
 * that CA: the CA file replaces the system's roots for this client only, and verification stays on. `caFile` must be an absolute path (config paths resolve first).
 */
export function s3RequestHandler(caFile: string | undefined, what = 'caFile'): NonNullable<S3ClientConfig['requestHandler']> {
  if (!caFile) return { connectionTimeout: CONNECT_TIMEOUT_MS };
  let ca: Buffer;
  try {
    ca = readFileSync(caFile);
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `cannot read the CA file ${caFile} (${what}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} — point ${what} at the PEM certificate of the CA that signed the store's certificate`,
      { cause: error },
    );
  }
  return {
    connectionTimeout: CONNECT_TIMEOUT_MS,
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, ca }),
  };
}

export function createS3Client(config: S3DestinationConfig, destination = '<name>'): S3Client {
  return new S3Client({
    region: config.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.profile ? { profile: config.profile } : {}),
    forcePathStyle: config.forcePathStyle,
    // We send our own SHA-256 where it matters; no second checksum pass on every request.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // A store that is down must fail a request quickly (the upload then waits out the outage,
    // heartbeating) rather than hang in the operating system's connect retries for minutes.
    // caFile, else AWS_CA_BUNDLE (the AWS CLI's variable; the local stack's environment sets it).
    requestHandler: config.caFile
      ? s3RequestHandler(config.caFile, `destinations.${destination}.caFile`)
      : s3RequestHandler(process.env.AWS_CA_BUNDLE || undefined, 'AWS_CA_BUNDLE'),
  });
}

function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  const mib = 1024 * 1024;
  return Math.max(MIN_PART_SIZE, Math.ceil(needed / mib) * mib);
}

/** SHA-256 (base64) of a file range, feeding the same bytes into `whole`; fails if the file is short. */
async function hashRange(file: string, start: number, length: number, whole: Hash, signal?: AbortSignal): Promise<string> {
  const part = createHash('sha256');
  let read = 0;
  for await (const chunk of createReadStream(file, { start, end: start + length - 1, highWaterMark: READ_SIZE, signal })) {
    part.update(chunk as Buffer);
    whole.update(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  if (read !== length) {
    throw new StrongboxError(
      FailureType.ChecksumMismatch,
      `checksum mismatch: ${file} is shorter than the size recorded when it was produced`,
    );
  }
  return part.digest('base64');
}

function sha256Base64(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * The SHA-256 (hex) the store computed over a whole object, when it keeps one: objects written by
 * replaceHead carry no sha256 metadata (it is set before the bytes exist), the store's own
 * full-object checksum from the final CopyObject says it instead. Composite checksums of multipart
 * uploads (`…-N`) are not a digest of the object and are ignored.
 */
function fullObjectSha256(result: { ChecksumSHA256?: string | undefined; ChecksumType?: string | undefined }): string | undefined {
  const checksum = result.ChecksumSHA256;
  if (!checksum || checksum.includes('-') || (result.ChecksumType !== undefined && result.ChecksumType !== 'FULL_OBJECT')) return undefined;
  const bytes = Buffer.from(checksum, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

/** `bucket/key[?versionId=…]`, URL-encoded as CopySource wants it. */
function copySource(bucket: string, fullKey: string, versionId?: string): string {
  const path = `${bucket}/${fullKey.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/**
 * How S3 and MinIO word a delete refused because of object lock: MinIO "Object is WORM protected
 * and cannot be overwritten" (400), S3 "Access Denied because object protected by object lock"
 * (403). A credential that may not delete gets a plain 403 AccessDenied from both, as does, on S3,
 * a locked version when the message is generic: then the version's retention and legal hold decide.
 */
const LOCK_REFUSAL = /WORM|object lock|retention|legal hold/i;

function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'AccessDenied' || e.Code === 'AccessDenied' || e.$metadata?.httpStatusCode === 403;
}

export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  private readonly prefix: string;

  constructor(
    readonly destination: string,
    private readonly config: S3DestinationConfig,
    private readonly client: S3Client = createS3Client(config, destination),
  ) {
    this.prefix = config.prefix ? `${config.prefix.replace(/\/+$/, '')}/` : '';
  }

  get bucket(): string {
    return this.config.bucket;
  }

  describe(): string {
    return `s3://${this.config.bucket}/${this.prefix}`;
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return `${this.prefix}${key}`;
  }

  private context(action: string, key?: string): string {
    return `destination ${this.destination} (${this.describe()}${key ?? ''}): ${action}`;
  }

  async checkAccess(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch (error) {
      if (isNotFound(error)) {
        throw new StrongboxError(
          FailureType.MissingBucket,
          `destination ${this.destination}: bucket ${this.config.bucket} does not exist — create it (with object lock enabled) or fix destinations.${this.destination}.bucket`,
        );
      }
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 403) {
        throw new StrongboxError(
          FailureType.Auth,
          `destination ${this.destination}: access to bucket ${this.config.bucket} denied — check the credentials (profile / AWS_* variables)`,
        );
      }
      throw classify(error, this.context('cannot reach the bucket'));
    }
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<PutResult> {
    const existing = options.replace ? undefined : await this.head(key);
    if (existing && existing.size === options.size && existing.sha256 === options.sha256) {
      return { key, size: existing.size, sha256: options.sha256, uploaded: false };
    }
    if (options.size < MIN_PART_SIZE) {
      await this.putSmallFile(key, file, options);
    } else {
      await this.putMultipart(key, file, options);
    }
    const stored = await this.head(key);
    if (!stored || stored.size !== options.size || stored.sha256 !== options.sha256) {
      throw new StrongboxError(
        FailureType.Transient,
        `${this.context('upload did not verify', key)}: stored ${stored?.size ?? 0} bytes with checksum ${stored?.sha256 ?? 'none'}, expected ${options.size} bytes with ${options.sha256}`,
      );
    }
    return { key, size: options.size, sha256: options.sha256, uploaded: true };
  }

  /**
   * Lock headers for a write: only in a destination with `objectLock`, and only until the date the
   * caller gives (a copy's own expiry plus margin, src/retention/lock.ts). Nothing is locked by
   * default, so what must stay removable (a hold marker) stays removable.
   */
  private lockParams(retainUntil: Date | undefined): { ObjectLockMode?: ObjectLockMode; ObjectLockRetainUntilDate?: Date } {
    const lock = this.config.objectLock;
    if (!lock || !retainUntil) return {};
    return { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: retainUntil };
  }

  private async putSmallFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    const body = await readFile(file);
    const sha = createHash('sha256').update(body).digest();
    if (sha.toString('hex') !== options.sha256) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `checksum mismatch: ${file} changed since it was produced (expected ${options.sha256}, read ${sha.toString('hex')})`,
      );
    }
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: this.fullKey(key),
        Body: body,
        ContentLength: body.length,
        ChecksumSHA256: sha.toString('base64'),
        Metadata: { [SHA256_METADATA]: options.sha256 },
        ...this.lockParams(options.retainUntil),
      }),
      { abortSignal: options.signal },
    );
    options.onProgress?.(body.length);
  }

  private async putMultipart(key: string, file: string, options: PutFileOptions): Promise<void> {
    const fullKey = this.fullKey(key);
    const partSize = partSizeFor(options.size);
    const checkpoint = (await this.adoptCheckpoint(key, partSize, options.resume)) ?? (await this.startUpload(key, partSize, options));
    const done = new Map(checkpoint.parts.map((p) => [p.partNumber, p]));
    options.onCheckpoint?.(checkpoint);
    const partCount = Math.max(1, Math.ceil(options.size / partSize));
    const whole = createHash('sha256');
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let uploadedBytes = [...done.keys()].reduce((sum, n) => sum + Math.min(partSize, options.size - (n - 1) * partSize), 0);
    try {
      for (let partNumber = 1; partNumber <= partCount && failure === undefined; partNumber += 1) {
        options.signal?.throwIfAborted();
        const start = (partNumber - 1) * partSize;
        const length = Math.min(partSize, options.size - start);
        // Hash the part's range as it is read (and the whole file along with it), then stream the
        // same range to the store: memory stays at a few read buffers whatever the part size.
        const checksum = await hashRange(file, start, length, whole, options.signal);
        const previous = done.get(partNumber);
        if (previous && previous.checksum === checksum) continue;
        const upload = this.uploadPart(fullKey, checkpoint.uploadId, partNumber, file, start, length, checksum, options.signal).then(
          (etag) => {
            done.set(partNumber, { partNumber, etag, checksum });
            checkpoint.parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
            uploadedBytes += length;
            options.onProgress?.(uploadedBytes);
            options.onCheckpoint?.(checkpoint);
          },
          (error: unknown) => {
            failure ??= error;
          },
        );
        const tracked = upload.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= UPLOAD_CONCURRENCY) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      const digest = whole.digest('hex');
      if (digest !== options.sha256) {
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `checksum mismatch: ${file} changed since it was produced (expected ${options.sha256}, read ${digest})`,
        );
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.config.bucket,
          Key: fullKey,
          UploadId: checkpoint.uploadId,
          MultipartUpload: {
            Parts: [...done.values()]
              .sort((a, b) => a.partNumber - b.partNumber)
              .map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, ChecksumSHA256: p.checksum })),
          },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      await Promise.allSettled(inFlight);
      // Keep the upload for the next attempt only when retrying may succeed; otherwise no orphans.
      const retryable = !options.signal?.aborted && classify(error).retryable;
      if (!retryable) await this.abort(fullKey, checkpoint.uploadId);
      throw error;
    }
  }

  private async uploadPart(
    fullKey: string,
    uploadId: string,
    partNumber: number,
    file: string,
    start: number,
    length: number,
    checksum: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const result = await this.client.send(
      new UploadPartCommand({
        Bucket: this.config.bucket,
        Key: fullKey,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: createReadStream(file, { start, end: start + length - 1, highWaterMark: READ_SIZE }),
        ContentLength: length,
        ChecksumSHA256: checksum,
      }),
      { abortSignal: signal },
    );
    if (!result.ETag) throw new StrongboxError(FailureType.Transient, `the store returned no ETag for part ${partNumber} of ${fullKey}`);
    return result.ETag;
  }

  private async startUpload(key: string, partSize: number, options: PutFileOptions): Promise<UploadCheckpoint> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.config.bucket,
        Key: this.fullKey(key),
        ChecksumAlgorithm: 'SHA256',
        Metadata: { [SHA256_METADATA]: options.sha256 },
        ...this.lockParams(options.retainUntil),
      }),
      { abortSignal: options.signal },
    );
    if (!created.UploadId) throw new StrongboxError(FailureType.Transient, `the store returned no upload id for ${key}`);
    return { key, uploadId: created.UploadId, partSize, parts: [] };
  }

  /** Continues a previous attempt's upload when the store still has it; the store's part list wins. */
  private async adoptCheckpoint(
    key: string,
    partSize: number,
    resume: UploadCheckpoint | undefined,
  ): Promise<UploadCheckpoint | undefined> {
    if (!resume || resume.key !== key || resume.partSize !== partSize) return undefined;
    const parts: UploadCheckpoint['parts'] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListPartsCommand({ Bucket: this.config.bucket, Key: this.fullKey(key), UploadId: resume.uploadId, PartNumberMarker: marker }),
        );
        for (const part of page.Parts ?? []) {
          if (part.PartNumber && part.ETag && part.ChecksumSHA256)
            parts.push({ partNumber: part.PartNumber, etag: part.ETag, checksum: part.ChecksumSHA256 });
        }
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchUpload' || isNotFound(error)) return undefined;
      throw error;
    }
    return { key, uploadId: resume.uploadId, partSize, parts };
  }

  private async abort(fullKey: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: fullKey, UploadId: uploadId }));
    } catch {
      // Already gone, or unreachable: debris cleaning (prune) finds it later.
    }
  }

  async putBytes(key: string, body: Buffer | string, options: PutBytesOptions = {}): Promise<'written' | 'exists'> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: this.fullKey(key),
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: options.contentType ?? 'application/json',
          ChecksumSHA256: sha256Base64(bytes),
          Metadata: { [SHA256_METADATA]: createHash('sha256').update(bytes).digest('hex') },
          ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
          ...this.lockParams(options.retainUntil),
        }),
      );
      return 'written';
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (options.ifAbsent && (status === 412 || (error as { name?: string }).name === 'PreconditionFailed')) return 'exists';
      throw classify(error, this.context('cannot write', key));
    }
  }

  async getStream(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.fullKey(key) }), {
        abortSignal: options.signal,
      });
      return result.Body as Readable;
    } catch (error) {
      if (isNotFound(error))
        throw new StrongboxError(
          FailureType.MissingObject,
          `missing object: ${key} is not in destination ${this.destination} (${this.describe()})`,
        );
      throw classify(error, this.context('cannot read', key));
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return this.readRange(this.fullKey(key), key, start, end);
  }

  private async readRange(
    fullKey: string,
    key: string,
    start: number,
    end: number,
    versionId?: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: fullKey, Range: `bytes=${start}-${end - 1}`, VersionId: versionId }),
        { abortSignal: signal },
      );
      const chunks: Buffer[] = [];
      for await (const chunk of result.Body as Readable) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (error) {
      if (isNotFound(error))
        throw new StrongboxError(
          FailureType.MissingObject,
          `missing object: ${key} is not in destination ${this.destination} (${this.describe()})`,
        );
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw classify(error, this.context('cannot read', key));
    }
  }

  /**
   * Assembled inside the store: a multipart upload under a temporary key whose first part is the new
   * head plus HEAD_PART_TAIL bytes of the old object (one ranged GET), and whose other parts are
   * UploadPartCopy ranges of the old version; then one CopyObject puts it in place as a new version
   * (with the old version's retention lock, if any) and has the store compute the whole object's
   * SHA-256. A locked old version stays as it is until its lock ends. Small objects are rewritten
   * whole. Resumable: the upload id and finished parts go to `onCheckpoint`.
   */
  async replaceHead(key: string, options: ReplaceHeadOptions): Promise<ReplaceHeadResult> {
    const fullKey = this.fullKey(key);
    const transfer: TransferCount = { uploaded: 0, downloaded: 0, copiedInStore: 0 };
    const current = await this.client
      .send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: fullKey }), { abortSignal: options.signal })
      .catch((error: unknown) => {
        if (isNotFound(error))
          throw new StrongboxError(
            FailureType.MissingObject,
            `missing object: ${key} is not in destination ${this.destination} (${this.describe()})`,
          );
        throw classify(error, this.context('cannot inspect', key));
      });
    const size = current.ContentLength ?? 0;
    const recorded = current.Metadata?.[SHA256_METADATA] ?? fullObjectSha256(current);
    if (
      size !== options.expectedSize ||
      (options.expectedSha256 !== undefined && recorded !== undefined && recorded !== options.expectedSha256)
    ) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `${key} in destination ${this.destination} is ${size} bytes with SHA-256 ${recorded ?? 'unknown'}, not the ${options.expectedSize} bytes with ${options.expectedSha256 ?? 'any'} expected — this copy is damaged or changed; left as it is`,
      );
    }
    const retainUntil = current.ObjectLockRetainUntilDate;
    const newSize = options.newHead.length + size - options.oldHeadLength;
    if (newSize <= REWRITE_WHOLE_LIMIT) return this.rewriteWhole(key, options, current.VersionId, size, retainUntil, transfer);

    if (newSize > MAX_COPY_OBJECT_SIZE) {
      // Too large for CopyObject: assembled in place, a new version of the key.
      const metadata = options.newSha256 ? { [SHA256_METADATA]: options.newSha256 } : undefined;
      await this.reassemble(fullKey, fullKey, current.VersionId, size, options, transfer, {
        ...(metadata ? { Metadata: metadata } : {}),
        ...this.lockParams(retainUntil),
      });
      const sha256 = options.newSha256 ?? (await this.streamDigest(fullKey, key, options.signal, transfer));
      return { key, size: newSize, sha256, transfer };
    }
    const tempKey = `${fullKey}${REASSEMBLY_SUFFIX}`;
    const checkpoint = await this.reassemble(tempKey, fullKey, current.VersionId, size, options, transfer, {});
    // A checkpoint once the temporary object is complete: a retry goes straight to the copy.
    options.onCheckpoint?.({ ...checkpoint, uploadId: undefined, parts: [] });
    let sha256: string | undefined;
    {
      const copied = await this.client
        .send(
          new CopyObjectCommand({
            Bucket: this.config.bucket,
            Key: fullKey,
            CopySource: copySource(this.config.bucket, tempKey),
            MetadataDirective: 'REPLACE',
            ...(options.newSha256 ? { Metadata: { [SHA256_METADATA]: options.newSha256 } } : {}),
            ChecksumAlgorithm: 'SHA256',
            ...this.lockParams(retainUntil),
          }),
          { abortSignal: options.signal },
        )
        .catch((error: unknown) => {
          throw classify(error, this.context('cannot copy the reassembled object into place', key));
        });
      transfer.copiedInStore += newSize;
      // S3 returns the checksum with the copy; MinIO computes it but tells it only when asked (HEAD).
      const computed =
        fullObjectSha256({
          ChecksumSHA256: copied.CopyObjectResult?.ChecksumSHA256,
          ChecksumType: copied.CopyObjectResult?.ChecksumType,
        }) ??
        fullObjectSha256(
          await this.client.send(
            new HeadObjectCommand({ Bucket: this.config.bucket, Key: fullKey, ChecksumMode: 'ENABLED', VersionId: copied.VersionId }),
            { abortSignal: options.signal },
          ),
        );
      if (computed !== undefined && options.newSha256 !== undefined && computed !== options.newSha256) {
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `${this.context('the rewritten object differs from the other copies', key)}: the store computed SHA-256 ${computed}, the other copies have ${options.newSha256}`,
        );
      }
      sha256 = computed ?? options.newSha256;
    }
    if (sha256 === undefined) {
      // The store keeps no SHA-256 of its own, and no other copy told it: read it.
      sha256 = await this.streamDigest(fullKey, key, options.signal, transfer);
    }
    await this.delete(`${key}${REASSEMBLY_SUFFIX}`);
    const stored = await this.head(key);
    if (!stored || stored.size !== newSize) {
      throw new StrongboxError(
        FailureType.Transient,
        `${this.context('the reassembled object did not verify', key)}: stored ${stored?.size ?? 0} bytes, expected ${newSize}`,
      );
    }
    return { key, size: newSize, sha256, transfer };
  }

  private async rewriteWhole(
    key: string,
    options: ReplaceHeadOptions,
    versionId: string | undefined,
    size: number,
    retainUntil: Date | undefined,
    transfer: TransferCount,
  ): Promise<ReplaceHeadResult> {
    const fullKey = this.fullKey(key);
    const old = await this.readRange(fullKey, key, 0, size, versionId, options.signal);
    transfer.downloaded += old.length;
    const was = createHash('sha256').update(old).digest('hex');
    if (old.length !== size || (options.expectedSha256 !== undefined && was !== options.expectedSha256)) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `${key} in destination ${this.destination} reads as ${old.length} bytes with SHA-256 ${was}, not the ${options.expectedSha256 ?? size} expected — this copy is damaged; left as it is`,
      );
    }
    const body = Buffer.concat([options.newHead, old.subarray(options.oldHeadLength)]);
    const sha = createHash('sha256').update(body).digest();
    await this.client
      .send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: fullKey,
          Body: body,
          ContentLength: body.length,
          ChecksumSHA256: sha.toString('base64'),
          Metadata: { [SHA256_METADATA]: sha.toString('hex') },
          ...this.lockParams(retainUntil),
        }),
        { abortSignal: options.signal },
      )
      .catch((error: unknown) => {
        throw classify(error, this.context('cannot write', key));
      });
    transfer.uploaded += body.length;
    return { key, size: body.length, sha256: sha.toString('hex'), transfer };
  }

  /** Builds the new object under `tempKey` (see replaceHead); resumes the checkpoint's upload when the store still has it. */
  private async reassemble(
    tempKey: string,
    fullKey: string,
    versionId: string | undefined,
    size: number,
    options: ReplaceHeadOptions,
    transfer: TransferCount,
    create: { Metadata?: Record<string, string>; ObjectLockMode?: ObjectLockMode; ObjectLockRetainUntilDate?: Date },
  ): Promise<ReplaceHeadCheckpoint> {
    const key = options.resume?.key;
    const resumable = options.resume && key === fullKey && options.resume.sourceVersion === versionId ? options.resume : undefined;
    if (
      resumable &&
      resumable.uploadId === undefined &&
      tempKey !== fullKey &&
      (await this.head(`${fullKey.slice(this.prefix.length)}${REASSEMBLY_SUFFIX}`))
    ) {
      return resumable; // the temporary object was completed by the attempt that crashed
    }
    let checkpoint: ReplaceHeadCheckpoint | undefined;
    if (resumable?.uploadId) {
      const parts = await this.listParts(tempKey, resumable.uploadId);
      if (parts) checkpoint = { key: fullKey, uploadId: resumable.uploadId, ...(versionId ? { sourceVersion: versionId } : {}), parts };
    }
    if (!checkpoint) {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.config.bucket, Key: tempKey, ...create }), {
        abortSignal: options.signal,
      });
      if (!created.UploadId) throw new StrongboxError(FailureType.Transient, `the store returned no upload id for ${tempKey}`);
      checkpoint = { key: fullKey, uploadId: created.UploadId, ...(versionId ? { sourceVersion: versionId } : {}), parts: [] };
    }
    const uploadId = checkpoint.uploadId!;
    options.onCheckpoint?.(checkpoint);
    const done = new Map(checkpoint.parts.map((p) => [p.partNumber, p]));
    const record = (partNumber: number, etag: string) => {
      done.set(partNumber, { partNumber, etag });
      checkpoint.parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
      options.onCheckpoint?.(checkpoint);
    };
    try {
      const firstEnd = Math.min(size, options.oldHeadLength + HEAD_PART_TAIL);
      if (!done.has(1)) {
        const tail = await this.readRange(fullKey, fullKey, options.oldHeadLength, firstEnd, versionId, options.signal);
        transfer.downloaded += tail.length;
        if (tail.length !== firstEnd - options.oldHeadLength)
          throw new StrongboxError(FailureType.Transient, `${this.context('short read', fullKey)}: ${tail.length} bytes`);
        const body = Buffer.concat([options.newHead, tail]);
        const result = await this.client.send(
          new UploadPartCommand({
            Bucket: this.config.bucket,
            Key: tempKey,
            UploadId: uploadId,
            PartNumber: 1,
            Body: body,
            ContentLength: body.length,
            ContentMD5: createHash('md5').update(body).digest('base64'),
          }),
          { abortSignal: options.signal },
        );
        if (!result.ETag) throw new StrongboxError(FailureType.Transient, `the store returned no ETag for part 1 of ${tempKey}`);
        transfer.uploaded += body.length;
        record(1, result.ETag);
      }
      const partSize = Math.max(COPY_PART_SIZE, Math.ceil((size - firstEnd) / (MAX_PARTS - 1)));
      const ranges: Array<{ partNumber: number; start: number; end: number }> = [];
      for (let start = firstEnd, partNumber = 2; start < size; start += partSize, partNumber += 1) {
        if (!done.has(partNumber)) ranges.push({ partNumber, start, end: Math.min(size, start + partSize) });
      }
      // A few copies at once: the store works on them in parallel, none passes through here.
      let failure: unknown;
      const copyNext = async (): Promise<void> => {
        for (let range = ranges.shift(); range && failure === undefined; range = ranges.shift()) {
          options.signal?.throwIfAborted();
          const result = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.config.bucket,
              Key: tempKey,
              UploadId: uploadId,
              PartNumber: range.partNumber,
              CopySource: copySource(this.config.bucket, fullKey, versionId),
              CopySourceRange: `bytes=${range.start}-${range.end - 1}`,
            }),
            { abortSignal: options.signal },
          );
          const etag = result.CopyPartResult?.ETag;
          if (!etag)
            throw new StrongboxError(FailureType.Transient, `the store returned no ETag for copied part ${range.partNumber} of ${tempKey}`);
          transfer.copiedInStore += range.end - range.start;
          record(range.partNumber, etag);
        }
      };
      await Promise.all(
        Array.from({ length: UPLOAD_CONCURRENCY }, () =>
          copyNext().catch((error: unknown) => {
            failure ??= error;
          }),
        ),
      );
      if (failure !== undefined) throw failure;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.config.bucket,
          Key: tempKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: checkpoint.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      // Keep the upload for the next attempt only when retrying may succeed; otherwise no orphans.
      const retryable = !options.signal?.aborted && classify(error).retryable;
      if (!retryable) await this.abort(tempKey, uploadId);
      throw classify(error, this.context('cannot reassemble', fullKey));
    }
    return checkpoint;
  }

  private async listParts(fullKey: string, uploadId: string): Promise<ReplaceHeadCheckpoint['parts'] | undefined> {
    const parts: ReplaceHeadCheckpoint['parts'] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListPartsCommand({ Bucket: this.config.bucket, Key: fullKey, UploadId: uploadId, PartNumberMarker: marker }),
        );
        for (const part of page.Parts ?? []) if (part.PartNumber && part.ETag) parts.push({ partNumber: part.PartNumber, etag: part.ETag });
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchUpload' || isNotFound(error)) return undefined;
      throw error;
    }
    return parts;
  }

  /** SHA-256 of a stored object, read whole: the fallback when the store computes none. */
  private async streamDigest(fullKey: string, key: string, signal: AbortSignal | undefined, transfer: TransferCount): Promise<string> {
    const result = await this.client
      .send(new GetObjectCommand({ Bucket: this.config.bucket, Key: fullKey }), { abortSignal: signal })
      .catch((error: unknown) => {
        throw classify(error, this.context('cannot read', key));
      });
    const hash = createHash('sha256');
    for await (const chunk of result.Body as Readable) {
      hash.update(chunk as Buffer);
      transfer.downloaded += (chunk as Buffer).length;
    }
    return hash.digest('hex');
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const result = await this.client.send(
        new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.fullKey(key), ChecksumMode: 'ENABLED' }),
      );
      const sha256 = result.Metadata?.[SHA256_METADATA] ?? fullObjectSha256(result);
      return {
        key,
        size: result.ContentLength ?? 0,
        lastModified: result.LastModified ?? new Date(0),
        ...(sha256 ? { sha256 } : {}),
        ...(result.ETag ? { etag: result.ETag } : {}),
        ...(result.ObjectLockRetainUntilDate ? { retainUntil: result.ObjectLockRetainUntilDate } : {}),
        ...(result.ObjectLockLegalHoldStatus === 'ON' ? { legalHold: true } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw classify(error, this.context('cannot inspect', key));
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: `${this.prefix}${prefix}`, ContinuationToken: token }))
        .catch((error: unknown) => {
          throw classify(error, this.context('cannot list'));
        });
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes every version (and delete marker) of the key; a locked version stops it: `locked`. */
  async delete(key: string): Promise<DeleteOutcome> {
    const fullKey = this.fullKey(key);
    const versions: Array<{ versionId: string | undefined }> = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.config.bucket,
          Prefix: fullKey,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === fullKey) versions.push({ versionId: v.VersionId });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    if (versions.length === 0) return 'absent';
    for (const version of versions) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: fullKey, VersionId: version.versionId }));
      } catch (error) {
        if (LOCK_REFUSAL.test((error as Error).message ?? '')) return 'locked';
        if (!isAccessDenied(error)) throw classify(error, this.context('cannot delete', key));
        const lock = await this.versionLock(fullKey, version.versionId);
        if (lock === 'locked') return 'locked';
        throw this.deleteDenied(key, error, lock === 'unknown');
      }
    }
    return 'deleted';
  }

  /**
   * Whether a version is under a retention lock that has not ended, or a legal hold: what a refused
   * delete is checked against when the store's message does not say. `unknown` when the credential
   * may not read them either.
   */
  private async versionLock(fullKey: string, versionId: string | undefined): Promise<'locked' | 'unlocked' | 'unknown'> {
    let unknown = false;
    const target = { Bucket: this.config.bucket, Key: fullKey, VersionId: versionId };
    try {
      const { Retention } = await this.client.send(new GetObjectRetentionCommand(target));
      if (Retention?.RetainUntilDate && Retention.RetainUntilDate.getTime() > Date.now()) return 'locked';
    } catch (error) {
      // No retention on the version (or no object lock on the bucket): not locked by it.
      if (isAccessDenied(error)) unknown = true;
    }
    try {
      const { LegalHold } = await this.client.send(new GetObjectLegalHoldCommand(target));
      if (LegalHold?.Status === 'ON') return 'locked';
    } catch (error) {
      if (isAccessDenied(error)) unknown = true;
    }
    return unknown ? 'unknown' : 'unlocked';
  }

  /** A delete refused by the store's permissions, not by a lock: what is missing, and where. */
  private deleteDenied(key: string, error: unknown, lockUnknown: boolean): StrongboxError {
    const e = error as { name?: string; message?: string };
    return new StrongboxError(
      FailureType.Auth,
      `destination ${this.destination} (${this.describe()}): permission denied deleting ${key} (${e.name ?? 'AccessDenied'}: ${e.message ?? ''}) — ` +
        `the credential may not delete objects here and no retention lock or legal hold holds this one; grant s3:DeleteObject and s3:DeleteObjectVersion ` +
        `on arn:aws:s3:::${this.config.bucket}/${this.prefix}* to the credential prune and failure cleanup run with (destinations.${this.destination}.profile or the AWS_* variables)` +
        (lockUnknown ? ', and s3:GetObjectRetention and s3:GetObjectLegalHold so a lock can be told from a refusal' : ''),
      { cause: error },
    );
  }

  /**
   * Unfinished multipart uploads under a prefix, found three ways and merged, because stores list
   * them differently: bucket-wide, filtered here (MinIO serves that listing from memory, so it
   * forgets every upload begun before a restart); by the prefix (S3 matches it against the start of
   * keys, MinIO against a whole key only); and by each key the caller names (how MinIO finds an
   * upload begun before a restart).
   */
  async listIncompleteUploads(prefix: string, options: { keys?: readonly string[] } = {}): Promise<IncompleteUpload[]> {
    const wanted = `${this.prefix}${prefix}`;
    const found = new Map<string, IncompleteUpload>();
    const collect = (key: string | undefined, uploadId: string | undefined, initiated: Date | undefined) => {
      if (key?.startsWith(wanted) && uploadId)
        found.set(`${key}\n${uploadId}`, { key: key.slice(this.prefix.length), uploadId, initiated: initiated ?? new Date(0) });
    };
    await this.listUploads(undefined, collect);
    if (wanted !== '') await this.listUploads(wanted, collect);
    for (const key of new Set(options.keys ?? [])) {
      const full = this.fullKey(key);
      if (full.startsWith(wanted) && full !== wanted) await this.listUploads(full, collect);
    }
    return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.uploadId < b.uploadId ? -1 : 1));
  }

  private async listUploads(
    prefix: string | undefined,
    collect: (key: string | undefined, uploadId: string | undefined, initiated: Date | undefined) => void,
  ): Promise<void> {
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListMultipartUploadsCommand({
            Bucket: this.config.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadMarker,
          }),
        )
        .catch((error: unknown) => {
          throw classify(error, this.context('cannot list unfinished uploads'));
        });
      for (const u of page.Uploads ?? []) collect(u.Key, u.UploadId, u.Initiated);
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    await this.abort(this.fullKey(upload.key), upload.uploadId);
  }

  /** The legal hold of the object's current version; `unsupported` in a bucket without object lock. */
  async setLegalHold(key: string, on: boolean): Promise<'set' | 'unsupported'> {
    try {
      await this.client.send(
        new PutObjectLegalHoldCommand({ Bucket: this.config.bucket, Key: this.fullKey(key), LegalHold: { Status: on ? 'ON' : 'OFF' } }),
      );
      return 'set';
    } catch (error) {
      if (isMissingObjectLock(error)) return 'unsupported';
      if (isAccessDenied(error)) {
        throw new StrongboxError(
          FailureType.Auth,
          `destination ${this.destination} (${this.describe()}): permission denied setting the legal hold of ${key} — grant s3:PutObjectLegalHold on arn:aws:s3:::${this.config.bucket}/${this.prefix}* to the credential that places holds`,
          { cause: error },
        );
      }
      throw classify(error, this.context('cannot set the legal hold of', key));
    }
  }

  async objectLockStatus(): Promise<ObjectLockStatus> {
    try {
      const { ObjectLockConfiguration: lock } = await this.client.send(
        new GetObjectLockConfigurationCommand({ Bucket: this.config.bucket }),
      );
      const enabled = lock?.ObjectLockEnabled === 'Enabled';
      const retention = lock?.Rule?.DefaultRetention;
      return {
        enabled,
        ...(enabled && retention?.Mode
          ? {
              defaultRetention: {
                mode: retention.Mode,
                ...(retention.Days ? { days: retention.Days } : {}),
                ...(retention.Years ? { years: retention.Years } : {}),
              },
            }
          : {}),
      };
    } catch (error) {
      if (isMissingObjectLock(error)) return { enabled: false };
      if (isAccessDenied(error))
        return {
          enabled: 'unknown',
          reason: `permission denied reading the object-lock configuration of bucket ${this.config.bucket} (grant s3:GetBucketObjectLockConfiguration)`,
        };
      throw classify(error, this.context('cannot read the object-lock configuration'));
    }
  }
}

/**
 * A bucket created without object lock: S3 and MinIO answer a lock request or query with
 * `ObjectLockConfigurationNotFoundError`, or `InvalidRequest` "Bucket is missing Object Lock Configuration".
 */
function isMissingObjectLock(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; message?: string };
  return (
    e.name === 'ObjectLockConfigurationNotFoundError' ||
    e.Code === 'ObjectLockConfigurationNotFoundError' ||
    /missing object ?lock configuration|object lock configuration (does not exist|not found)/i.test(e.message ?? '')
  );
}
