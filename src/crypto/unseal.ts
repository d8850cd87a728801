/**
 * Decrypting a backup's dump in a worker thread, with both checksums: the ciphertext's SHA-256,
 * the age payload's decryption and the plaintext's SHA-256 run in unseal-thread.js, about a
 * second of CPU per 350 MB that would otherwise hold the worker's main thread. On the main
 * thread that second starved whatever else streamed there: a verification's restore, which feeds
 * zstd and pg_restore from the file being fetched, got its turns late and the load waited.
 *
 * The header is read here, because it needs the identities, which never leave this thread; the
 * payload key it yields is all the thread gets. After a failure (wrong key, damaged header or
 * chunk) decryption stops but the ciphertext is still hashed to its end, so a damaged copy is
 * told apart from a wrong key by its checksum.
 */
import { Worker } from 'node:worker_threads';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { AgeHeaderReader } from './age.js';

export interface UnsealDigests {
  cipherSha256: string;
  cipherBytes: number;
  plainSha256: string;
  plainBytes: number;
}

/** What the thread answers (see unseal-thread.js). */
interface Answer {
  plain?: Uint8Array;
  failure?: string;
  writeFailure?: { message: string; code?: string };
  digests?: UnsealDigests;
}

export interface UnsealOptions {
  /**
   * Where the plaintext goes: a file descriptor the thread writes to (the caller opens and closes
   * it). Without it, push() and end() hand the plaintext back.
   */
  outputFd?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decryption threads are kept for the next fetch rather than started for each: a verifying worker
 * that started (and ended) one per fetch grew by ~30 MB per verification — what a finished thread
 * freed was not given back — and a kept thread also saves its start-up. Two idle ones at most (a
 * worker rarely decrypts more at once); an idle thread does not keep the process alive.
 */
const MAX_IDLE_THREADS = 2;
const idleThreads: Worker[] = [];

function takeThread(): Worker {
  const kept = idleThreads.pop();
  if (kept) {
    kept.ref();
    return kept;
  }
  const thread = new Worker(new URL('./unseal-thread.js', import.meta.url));
  // An idle thread that fails or stops is simply forgotten; a busy one is its Unsealer's concern.
  const forget = () => {
    const at = idleThreads.indexOf(thread);
    if (at !== -1) idleThreads.splice(at, 1);
  };
  thread.on('error', forget);
  thread.on('exit', forget);
  return thread;
}

function giveBack(thread: Worker): Promise<unknown> {
  if (idleThreads.length >= MAX_IDLE_THREADS) return thread.terminate();
  thread.unref();
  idleThreads.push(thread);
  return Promise.resolve();
}

export class Unsealer {
  /** Why decryption stopped, once it has (WrongKey or CorruptData); the ciphertext is hashed to its end regardless. */
  failure: StrongboxError | undefined;
  /** Why writing to `outputFd` failed, once it has; nothing more is written after it. */
  writeFailure: NodeJS.ErrnoException | undefined;
  private readonly header: AgeHeaderReader;
  private readonly thread: Worker;
  private readonly waiting: Array<{ resolve: (answer: Answer) => void; reject: (error: Error) => void }> = [];
  private decrypting = false;
  private broken: Error | undefined;
  private closed = false;
  private readonly onAnswer = (answer: Answer) => this.waiting.shift()?.resolve(answer);
  private readonly onError = (error: Error) => this.break(error);
  private readonly onExit = (code: number) => this.break(new Error(`the decryption thread stopped unexpectedly (exit code ${code})`));

  /** Fails with MissingKey, before any thread is taken, when no identity is given. */
  constructor(identities: string[], options: UnsealOptions = {}) {
    this.header = new AgeHeaderReader(identities);
    this.thread = takeThread();
    this.thread.on('message', this.onAnswer);
    this.thread.on('error', this.onError);
    this.thread.on('exit', this.onExit);
    this.thread.postMessage({ op: 'begin', outputFd: options.outputFd });
  }

  /**
   * Hashes the next ciphertext bytes and decrypts them; resolves with the plaintext they complete
   * (often empty; always empty with `outputFd`). The chunk's memory may be handed to the thread:
   * do not use it afterwards.
   */
  async push(chunk: Buffer): Promise<Buffer> {
    if (!this.decrypting && !this.failure) return this.pushHeader(chunk);
    return this.plainOf(await this.ask({ op: 'chunk', data: chunk, hash: true, decrypt: this.decrypting }, true));
  }

  /** After the last ciphertext bytes: the last plaintext and both digests. */
  async end(): Promise<{ plain: Buffer; digests: UnsealDigests }> {
    if (!this.decrypting && !this.failure) this.failure = this.header.endedEarly();
    const answer = await this.ask({ op: 'end', decrypt: this.decrypting });
    return { plain: this.plainOf(answer), digests: answer.digests! };
  }

  /**
   * Done with the thread: kept for the next file when it is idle and well, stopped otherwise (a
   * request still unanswered, or a failure). Always call it (a `finally`); after it, nothing the
   * thread does reaches this object.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.thread.off('message', this.onAnswer);
    this.thread.off('error', this.onError);
    this.thread.off('exit', this.onExit);
    const reusable = !this.broken && this.waiting.length === 0;
    this.break(new Error('the decryption was closed'));
    await (reusable ? giveBack(this.thread) : this.thread.terminate());
  }

  private async pushHeader(chunk: Buffer): Promise<Buffer> {
    const hashed = this.ask({ op: 'chunk', data: chunk, hash: true, decrypt: false });
    let read: ReturnType<AgeHeaderReader['push']>;
    try {
      read = this.header.push(chunk);
    } catch (error) {
      if (!(error instanceof StrongboxError)) throw error;
      this.failure = error;
    }
    await hashed;
    if (!read) return EMPTY;
    this.thread.postMessage({ op: 'key', key: read.payloadKey });
    this.decrypting = true;
    if (read.rest.length === 0) return EMPTY;
    return this.plainOf(await this.ask({ op: 'chunk', data: read.rest, hash: false, decrypt: true }));
  }

  private plainOf(answer: Answer): Buffer {
    if (answer.writeFailure) this.writeFailure = Object.assign(new Error(answer.writeFailure.message), { code: answer.writeFailure.code });
    if (answer.failure !== undefined) {
      this.failure = new StrongboxError(FailureType.CorruptData, answer.failure);
      this.decrypting = false;
    }
    return answer.plain ? Buffer.from(answer.plain.buffer, answer.plain.byteOffset, answer.plain.byteLength) : EMPTY;
  }

  /** `handOver`: the chunk is not used here afterwards, so its memory may move to the thread. */
  private ask(message: { op: string; data?: Buffer; hash?: boolean; decrypt?: boolean }, handOver = false): Promise<Answer> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (message.data) {
        // Moved when the chunk owns all its memory (a file read's buffer); otherwise a copy the thread
        // then owns: a view may share its memory with bytes a stream still uses.
        const whole =
          handOver &&
          message.data.byteOffset === 0 &&
          message.data.byteLength === message.data.buffer.byteLength &&
          message.data.buffer instanceof ArrayBuffer;
        const data = whole ? message.data : new Uint8Array(message.data);
        this.thread.postMessage({ ...message, data }, [data.buffer as ArrayBuffer]);
      } else {
        this.thread.postMessage(message);
      }
    });
  }

  private break(error: Error): void {
    this.broken ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
