import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { workerArgs } from '../../src/stack/worker-daemon.js';
import { metricsBindAddress, metricsUrl } from '../../src/worker/metrics-address.js';

describe("the worker's metrics address", () => {
  it('is loopback unless configured otherwise', () => {
    const config = parseConfig({}, { source: undefined, baseDir: '/tmp' });
    expect(config.worker.metricsHost).toBe('127.0.0.1');
    expect(metricsBindAddress(config.worker.metricsHost, config.worker.metricsPort)).toBe('127.0.0.1:9464');
  });

  it.each([
    ['127.0.0.1', 9464, '127.0.0.1:9464', 'http://127.0.0.1:9464/metrics'],
    ['0.0.0.0', 9464, '0.0.0.0:9464', 'http://127.0.0.1:9464/metrics'],
    ['::1', 9500, '[::1]:9500', 'http://[::1]:9500/metrics'],
    ['::', 9500, '[::]:9500', 'http://[::1]:9500/metrics'],
    ['worker.internal', 9464, 'worker.internal:9464', 'http://worker.internal:9464/metrics'],
  ])('%s:%i binds %s and is scraped at %s', (host, port, bind, url) => {
    expect(metricsBindAddress(host, port)).toBe(bind);
    expect(metricsUrl(host, port)).toBe(url);
  });

  it('reaches the background worker through its arguments, never through a shared default', () => {
    expect(workerArgs('/s/strongbox.yaml', { host: '127.0.0.1', port: 41234 }).slice(1)).toEqual([
      '--config',
      '/s/strongbox.yaml',
      'worker',
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '41234',
    ]);
    expect(workerArgs('/s/strongbox.yaml').slice(1)).toEqual(['--config', '/s/strongbox.yaml', 'worker']);
  });
});
