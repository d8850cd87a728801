/**
 * Listing the catalog from outside a workflow, with its audit event: whoever lists the backups is
 * recorded (`backup.listed`) in every destination, like every other access.
 */
import type { AuditWriteResult } from '../audit/log.js';
import { readCatalog, type Catalog } from '../catalog/catalog.js';
import type { Config } from '../config/load.js';
import { openStorages } from '../storage/index.js';
import { recordAccess, type Actor } from './audit.js';

export interface CatalogListing {
  catalog: Catalog;
  /** The `backup.listed` event's write, per destination (a refusal is the caller's to report). */
  audit: AuditWriteResult;
}

export async function listCatalog(config: Config, actor: Actor, options: { target?: string } = {}): Promise<CatalogListing> {
  const catalog = await readCatalog(openStorages(config).values(), options.target ? { target: options.target } : {});
  const audit = await recordAccess(config, actor, {
    action: 'backup.listed',
    ...(options.target ? { target: options.target } : {}),
    destinations: Object.keys(config.destinations),
    outcome: 'succeeded',
    details: { backups: catalog.entries.length },
  });
  return { catalog, audit };
}
