/**
 * Where a worker serves its Prometheus metrics: `worker.metricsHost` (default 127.0.0.1, like
 * every other service of Strongbox) and `worker.metricsPort`. Kept apart from worker.ts so the
 * stack can say where its worker's metrics are without loading the Temporal worker.
 */

/** `host:port` for the SDK's Prometheus exporter; IPv6 hosts in brackets. */
export function metricsBindAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The URL a person (or Prometheus on the same host) scrapes; a wildcard host is reached on loopback. */
export function metricsUrl(host: string, port: number): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${metricsBindAddress(reach, port)}/metrics`;
}
