/**
 * The stack's own certificate authority, so its MinIO serves HTTPS: pgBackRest's S3 driver speaks
 * nothing else, and clients then trust a CA file instead of turning verification off. Made once per
 * stack directory with the `openssl` CLI, in `<dir>/tls/`:
 *
 *   ca.crt                     the CA certificate clients trust (S3Info.caFile)
 *   ca.key                     its private key (mode 600), kept to renew the server certificate
 *   minio/public.crt           the server certificate for 127.0.0.1 and localhost
 *   minio/private.key          its private key (mode 600)
 *   minio/CAs/ca.crt           the CA again: MinIO's `--certs-dir` layout
 *
 * A restarted stack keeps them (clients configured with ca.crt keep working); a server certificate
 * close to its end is issued anew by the same CA.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { ensureDebianPackages } from './debian.js';
import { findOnPath } from './which.js';

/** Ten years: the CA outlives any stack directory. */
const CA_DAYS = 3650;
/** About two years, then renewed by `stack up` (SERVER_RENEW_SECONDS before the end). */
const SERVER_DAYS = 825;
/** A server certificate with less than a week left is issued anew at the next start. */
const SERVER_RENEW_SECONDS = 7 * 86_400;
/**
 * The names the stack's services are reached by: they listen on loopback only. 127.0.0.1 is there
 * twice: as an IP address (what Node and curl match an address against) and as a DNS name, the only
 * kind pgBackRest's host check reads (it compares the endpoint's text with DNS names).
 */
const SERVER_NAMES = 'IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost';

export interface StackTls {
  /** The CA certificate to trust (PEM). */
  caFile: string;
  /** MinIO's `--certs-dir`: public.crt, private.key, CAs/. */
  minioCertsDir: string;
}

export function stackTlsFiles(dir: string): StackTls & { caKey: string; serverCert: string; serverKey: string } {
  const tls = path.join(dir, 'tls');
  const minioCertsDir = path.join(tls, 'minio');
  return {
    caFile: path.join(tls, 'ca.crt'),
    caKey: path.join(tls, 'ca.key'),
    minioCertsDir,
    serverCert: path.join(minioCertsDir, 'public.crt'),
    serverKey: path.join(minioCertsDir, 'private.key'),
  };
}

/**
 * The stack's CA and server certificate, made the first time (and the server's issued anew near its
 * end, or when it lacks a name now required). `issued`: a MinIO running with the old one must restart.
 */
export async function ensureStackTls(dir: string, options: { logger?: Logger } = {}): Promise<StackTls & { issued: boolean }> {
  const files = stackTlsFiles(dir);
  let issued = false;
  // Slim Debian images lack the openssl CLI: installed like the stack's other Debian tools.
  if (!findOnPath('openssl')) await ensureDebianPackages(['openssl'], options);
  mkdirSync(path.join(files.minioCertsDir, 'CAs'), { recursive: true, mode: 0o755 });
  if (!existsSync(files.caFile) || !existsSync(files.caKey)) {
    await issue(dir, async (work) => {
      await makeCa(work, { subject: `/CN=strongbox local stack CA (${path.basename(dir)})`, days: CA_DAYS });
      place(work, 'ca.key', files.caKey, 0o600);
      place(work, 'ca.crt', files.caFile, 0o644);
    });
    // A new CA: a server certificate signed by an older one is no longer trusted.
    rmSync(files.serverCert, { force: true });
  }
  if (!existsSync(files.serverCert) || !existsSync(files.serverKey) || !(await current(files.serverCert))) {
    await issue(dir, async (work) => {
      await makeSignedCertificate(work, {
        name: 'server',
        subject: '/CN=127.0.0.1',
        extensions: `subjectAltName=${SERVER_NAMES}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
        ca: { cert: files.caFile, key: files.caKey },
        days: SERVER_DAYS,
      });
      place(work, 'server.key', files.serverKey, 0o600);
      place(work, 'server.crt', files.serverCert, 0o644);
    });
    issued = true;
  }
  copyFileSync(files.caFile, path.join(files.minioCertsDir, 'CAs', 'ca.crt'));
  return { caFile: files.caFile, minioCertsDir: files.minioCertsDir, issued };
}

/** `openssl req` options for a new unencrypted P-256 key: every key the stack's CA issues or holds. */
const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed P-256 certificate authority in `work`: `ca.key` and `ca.crt`. */
export async function makeCa(work: string, options: { subject: string; days: number }): Promise<void> {
  await openssl(work, [
    'req',
    '-x509',
    ...NEW_P256_KEY,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    String(options.days),
    '-subj',
    options.subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/**
 * A P-256 key and a certificate the CA signs, in `work`: `<name>.key` and `<name>.crt`, with the
 * extensions given (openssl's extfile syntax: subjectAltName, extendedKeyUsage, …). A random serial:
 * two certificates of one CA never share one.
 */
export async function makeSignedCertificate(
  work: string,
  options: { name: string; subject: string; extensions: string; ca: { cert: string; key: string }; days: number },
): Promise<void> {
  const { name } = options;
  writeFileSync(path.join(work, `${name}.ext`), options.extensions);
  await openssl(work, ['req', ...NEW_P256_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', options.subject]);
  await openssl(work, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    options.ca.cert,
    '-CAkey',
    options.ca.key,
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-out',
    `${name}.crt`,
    '-days',
    String(options.days),
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Runs `body` in a private scratch directory under `<dir>/tls`, removed afterwards. */
async function issue(dir: string, body: (work: string) => Promise<void>): Promise<void> {
  const work = mkdtempSync(path.join(dir, 'tls', '.issue-'));
  chmodSync(work, 0o700);
  try {
    await body(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Moves a file made in the scratch directory into place with `mode` (keys: 600 before they appear). */
function place(work: string, name: string, destination: string, mode: number): void {
  chmodSync(path.join(work, name), mode);
  renameSync(path.join(work, name), destination);
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const result = await execa('openssl', args, { cwd, reject: false, stdin: 'ignore', all: true });
  if (result.failed) {
    const why = (result as { code?: string }).code === 'ENOENT' ? 'openssl is not installed' : String(result.all ?? '').trim();
    throw new StrongboxError(
      FailureType.Config,
      `cannot make the stack's TLS certificates (openssl ${args[0]}): ${why} — install openssl (Debian: apt-get install openssl)`,
    );
  }
}

/** The server certificate is valid beyond the renewal margin and names 127.0.0.1 as pgBackRest reads names. */
async function current(certificate: string): Promise<boolean> {
  const end = await execa('openssl', ['x509', '-checkend', String(SERVER_RENEW_SECONDS), '-noout', '-in', certificate], { reject: false });
  const host = await execa('openssl', ['x509', '-checkhost', '127.0.0.1', '-noout', '-in', certificate], { reject: false });
  return end.exitCode === 0 && /does match/.test(host.stdout);
}
