/**
 * Staging (pgBackRest calls it the spool): the folder of a worker host where one run's files live
 * between steps — a dump being checksummed, encrypted and uploaded, a backup fetched for a restore,
 * an export, a configuration snapshot. Each run has one folder, named by the run (a backup id, a
 * fetch's name); a backup's dump attempts get a subfolder each, so a pg_dump left running by a
 * crashed worker can never write into a later attempt's file. A folder is removed as a whole when
 * its run ends (cleanStaging). Names come from workflows: each is checked to be one path segment.
 */
import path from 'node:path';
import { StrongboxError } from './errors.js';
import { FailureType } from './failures.js';

/** A file in an attempt's staging folder, named without knowing the host's paths (workflows do). */
export interface StagedFile {
  backupId: string;
  attempt: number;
  name: string;
}

/** Refuses a name that is not one path segment of letters, digits, '.', '_' or '-'; returns it. */
export function stagingName(name: string, what = 'staging folder name'): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
    throw new StrongboxError(
      FailureType.Config,
      `invalid ${what} ${JSON.stringify(name)}: one path segment of letters, digits, '.', '_' or '-'`,
    );
  }
  return name;
}

/** The staging folder `name` of this host: one path segment under the staging directory, never above it. */
export function stagingFolder(stagingDir: string, name: string): string {
  return path.join(stagingDir, stagingName(name));
}

/** Where attempt `attempt` of a backup writes its dump (and the files made from it). */
export function attemptFolder(stagingDir: string, backupId: string, attempt: number): string {
  return path.join(stagingFolder(stagingDir, backupId), `attempt-${attempt}`);
}

export function stagedPath(stagingDir: string, staged: StagedFile): string {
  return path.join(attemptFolder(stagingDir, staged.backupId, staged.attempt), path.basename(staged.name));
}
