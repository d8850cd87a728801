/**
 * Bounding the bandwidth of a scrub: `scrub.bandwidth` (`50MiB/s`, `500KiB/s`, `0` for no bound) is
 * shared by every copy the worker reads at once, so a weekly full scrub cannot crowd out the
 * nightly backups' uploads on the same link. A reservation clock: each chunk reserves its share of
 * time after the previous reservations, and its reader waits until that share has passed.
 */
import { Transform, type TransformCallback } from 'node:stream';

export { parseBandwidth } from '../config/rate.js';

/**
 * How much a full second of unused bandwidth may be spent at once: reads arrive in chunks, and a
 * short burst keeps the first chunk of each object from waiting for nothing.
 */
const BURST_MS = 250;

export class BandwidthLimit {
  /** When the reservations made so far have all been spent (ms, on `now`'s clock). */
  #spentUntil = 0;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** How long the reader of `bytes` must wait before going on (0 when unbounded). */
  reserve(bytes: number): number {
    if (this.bytesPerSecond <= 0) return 0;
    const now = this.now();
    const start = Math.max(this.#spentUntil, now - BURST_MS);
    this.#spentUntil = start + (bytes / this.bytesPerSecond) * 1000;
    return Math.max(0, this.#spentUntil - now - BURST_MS);
  }

  /** A pass-through stream holding each chunk back as long as the limit says. */
  stream(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        const wait = this.reserve(chunk.length);
        if (wait <= 0) callback(null, chunk);
        else setTimeout(() => callback(null, chunk), wait);
      },
    });
  }
}
