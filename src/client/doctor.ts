/**
 * `strongbox doctor`: what each destination can do for the backups' survival, checked online —
 * whether it answers, whether its bucket has object lock and in which mode copies are locked, and
 * whether a configured `objectLock` can be honoured at all (a bucket created without object lock
 * cannot get it later, and refuses every locked upload).
 */
import type { Config } from '../config/load.js';
import { openStorages } from '../storage/index.js';
import type { ObjectLockStatus, Storage } from '../storage/storage.js';

export interface DestinationDiagnosis {
  destination: string;
  kind: Storage['kind'];
  location: string;
  reachable: boolean;
  /** Why it could not be reached, when it could not. */
  error?: string;
  objectLock: {
    /** What the configuration asks for (`destinations.<d>.objectLock`). */
    configured?: { mode: string; margin: string };
    /** What the store says: `n/a` where there is no such thing (a local directory). */
    bucket: ObjectLockStatus | 'n/a';
    /** The mode copies are really locked in here, or `none`. */
    effective: 'GOVERNANCE' | 'COMPLIANCE' | 'none';
  };
  /** Something configured that cannot work: `doctor` exits non-zero. */
  warnings: string[];
  /** Worth knowing, not wrong. */
  notes: string[];
}

export interface Diagnosis {
  destinations: DestinationDiagnosis[];
  ok: boolean;
}

export async function diagnose(config: Config, options: { storages?: Map<string, Storage> } = {}): Promise<Diagnosis> {
  const storages = options.storages ?? openStorages(config);
  const destinations: DestinationDiagnosis[] = [];
  for (const [name, storage] of storages) destinations.push(await diagnoseDestination(config, name, storage));
  return { destinations, ok: destinations.every((d) => d.warnings.length === 0) };
}

async function diagnoseDestination(config: Config, name: string, storage: Storage): Promise<DestinationDiagnosis> {
  const spec = config.destinations[name];
  const configured = spec?.type === 's3' && spec.objectLock ? { mode: spec.objectLock.mode, margin: spec.objectLock.margin } : undefined;
  const diagnosis: DestinationDiagnosis = {
    destination: name,
    kind: storage.kind,
    location: storage.describe(),
    reachable: true,
    objectLock: { ...(configured ? { configured } : {}), bucket: 'n/a', effective: 'none' },
    warnings: [],
    notes: [],
  };
  try {
    await storage.checkAccess();
  } catch (error) {
    diagnosis.reachable = false;
    diagnosis.error = (error as Error).message;
    diagnosis.warnings.push(`cannot be reached: ${diagnosis.error}`);
    return diagnosis;
  }
  if (!storage.objectLockStatus) {
    diagnosis.notes.push(
      'a local directory has no object lock: anyone who may write here may delete; keep a locked S3 destination for the copies that must survive',
    );
    return diagnosis;
  }
  let status: ObjectLockStatus;
  try {
    status = await storage.objectLockStatus();
  } catch (error) {
    status = { enabled: 'unknown', reason: (error as Error).message };
  }
  diagnosis.objectLock.bucket = status;
  const field = `destinations.${name}.objectLock`;
  if (configured && status.enabled === true) diagnosis.objectLock.effective = configured.mode as 'GOVERNANCE' | 'COMPLIANCE';
  if (configured && status.enabled === false) {
    diagnosis.warnings.push(
      `${field} asks for ${configured.mode} locks, but the bucket has no object lock: it refuses every locked upload, so backups to ${name} fail — create a bucket with object lock enabled (it cannot be turned on later) and point the destination at it, or remove ${field}`,
    );
  }
  if (configured && status.enabled === 'unknown') {
    diagnosis.warnings.push(`${field} is set, but whether the bucket has object lock cannot be told: ${status.reason ?? 'unknown'}`);
  }
  if (!configured && status.enabled === true) {
    diagnosis.notes.push(
      `the bucket has object lock, but ${field} is not set: copies here are not locked — set it to lock each copy until its expiry`,
    );
  }
  if (status.defaultRetention) {
    const { mode, days, years } = status.defaultRetention;
    diagnosis.notes.push(
      `the bucket locks every object by default (${mode}, ${days ? `${days} days` : `${years} years`}): hold markers and debris are locked too, so removing a hold or cleaning debris waits for that lock — Strongbox sets each copy's lock itself; a bucket default is not needed`,
    );
  }
  return diagnosis;
}
