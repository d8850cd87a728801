/**
 * Where a destination really stores, to refuse two destinations in the same place: one copy
 * reported as two is no second copy, and one destination nested in another reads (and prunes as
 * debris) the other's objects.
 *
 * S3: the endpoint (scheme, host and port; none means AWS) and bucket, and the prefix as
 * slash-separated segments (`prod`, `/prod/` and `prod//` are one prefix; `prod` holds `prod/eu`).
 * Local: the absolute path with symlinks resolved — through the nearest existing ancestor when the
 * directory does not exist yet (it is created on the first backup).
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { DestinationConfig } from './schema.js';

export interface Location {
  /** The store: `s3 <endpoint> <bucket>` or `local`. Locations in different stores never overlap. */
  store: string;
  /** Path segments inside the store: the prefix's, or the real path's. */
  segments: string[];
  /** How the location reads in a message. */
  text: string;
}

export function s3Location(destination: { endpoint?: string | undefined; bucket: string; prefix: string }): Location {
  const endpoint = destination.endpoint ? normaliseEndpoint(destination.endpoint) : 'aws';
  const segments = destination.prefix.split('/').filter((s) => s !== '');
  return {
    store: `s3 ${endpoint} ${destination.bucket}`,
    segments,
    text: `bucket "${destination.bucket}"${segments.length > 0 ? `, prefix "${segments.join('/')}"` : ', no prefix'}`,
  };
}

/** `absolutePath` resolved through symlinks (of its nearest existing ancestor when it does not exist). */
export function localLocation(absolutePath: string): Location {
  const real = realPathOfNearestAncestor(path.resolve(absolutePath));
  return { store: 'local', segments: real.split(path.sep).filter((s) => s !== ''), text: `directory ${real}` };
}

export function destinationLocation(destination: DestinationConfig, resolve: (p: string) => string): Location {
  return destination.type === 's3' ? s3Location(destination) : localLocation(resolve(destination.path));
}

/** Whether two locations share objects: the same place, or one inside the other. */
export function overlaps(a: Location, b: Location): boolean {
  if (a.store !== b.store) return false;
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i += 1) if (a.segments[i] !== b.segments[i]) return false;
  return true;
}

/** One problem per destination that overlaps an earlier one, naming both. */
export function sameLocationProblems(destinations: Record<string, DestinationConfig>, resolve: (p: string) => string): string[] {
  const seen: Array<{ name: string; location: Location }> = [];
  const problems: string[] = [];
  for (const [name, destination] of Object.entries(destinations)) {
    const location = destinationLocation(destination, resolve);
    const other = seen.find((s) => overlaps(s.location, location));
    if (other) {
      const how = other.location.segments.length === location.segments.length ? 'stores in the same place as' : 'overlaps';
      problems.push(
        `destinations.${name}: ${how} destinations.${other.name} (${location.text}; ${other.location.text}) — a copy in the same place is no second copy: give each destination its own bucket, prefix or directory, neither inside the other`,
      );
    }
    seen.push({ name, location });
  }
  return problems;
}

function normaliseEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}`; // URL lowercases the host and drops a default port
  } catch {
    return endpoint;
  }
}

function realPathOfNearestAncestor(absolute: string): string {
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...missing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = path.dirname(current);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) return absolute;
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}
