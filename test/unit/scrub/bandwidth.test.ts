import { describe, expect, it } from 'vitest';
import { parseBandwidth } from '../../../src/config/rate.js';
import { BandwidthLimit } from '../../../src/scrub/bandwidth.js';

describe('bandwidth settings', () => {
  it.each<[string, number]>([
    ['0', 0],
    ['unlimited', 0],
    ['50MiB/s', 50 * 1024 * 1024],
    ['500KiB/s', 500 * 1024],
    ['10MB/s', 10_000_000],
    ['1.5GiB/s', Math.round(1.5 * 1024 ** 3)],
  ])('%s is %d bytes per second', (text, bytes) => {
    expect(parseBandwidth(text)).toBe(bytes);
  });

  it.each(['50', 'fast', '50 MiB', '-1MiB/s'])('refuses %s, saying what a rate looks like', (text) => {
    expect(() => parseBandwidth(text)).toThrow(/expected e\.g\. 50MiB\/s/);
  });
});

describe('the bandwidth limit', () => {
  it('holds readers back so that, past a short burst, bytes flow at the configured rate however many read at once', () => {
    let now = 0;
    const limit = new BandwidthLimit(1000, () => now);
    // Two readers taking 500 bytes each, every time they are let go: 4000 bytes in all.
    let last = 0;
    for (let i = 0; i < 8; i += 1) last = Math.max(last, limit.reserve(500));
    // 4000 bytes at 1000 B/s take 4 s; the first 250 ms are the burst.
    expect(last).toBe(3750);
    now = 10_000; // idle long after: no debt carried over
    expect(limit.reserve(100)).toBe(0);
  });

  it('never waits when unbounded', () => {
    const limit = new BandwidthLimit(0, () => 0);
    expect(limit.reserve(10 ** 12)).toBe(0);
  });
});
