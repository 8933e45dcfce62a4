import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { visibleCustomerExists } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';

/** The bulk import's hand-written SQL (src/partner-center/import.service.ts), through queryRows. */

/** A customer of an import's chunk, with what the confirmation's rules need. */
export interface ImportCustomerRow {
  id: string;
  tenant_id: string;
  cloud: string;
  country: string;
}

/** A chunk's customers by tenant id, those the viewer may see (the correlated form: a known handful). */
export async function customersByTenant(tx: EntityManager, viewer: Viewer, tenantIds: string[]): Promise<Map<string, ImportCustomerRow>> {
  if (tenantIds.length === 0) return new Map();
  const visible = visibleCustomerExists(viewer, 'c.id');
  const rows = await queryRows<ImportCustomerRow>(
    tx,
    `select c.id, c.tenant_id, c.cloud, c.country from customers c where c.tenant_id = any(?::text[]) and ${visible.sql}`,
    [tenantIds, ...visible.params],
  );
  return new Map(rows.map((r) => [r.tenant_id, r]));
}

/**
 * Claims an import: first in its transaction, so a concurrent import with the same key
 * waits for this one and then replays it. Null when the key was used before.
 */
export async function claimImport(tx: EntityManager, partnerId: string, key: string | null, userId: string): Promise<string | null> {
  const [created] = await queryRows<{ id: string }>(
    tx,
    `insert into acceptance_imports (id, partner_id, idempotency_key, imported_by_id, created_at) values (gen_random_uuid(), ?, ?, ?, now())
     on conflict (partner_id, idempotency_key) do nothing returning id`,
    [partnerId, key, userId],
  );
  return created?.id ?? null;
}

export async function recordImportResult(tx: EntityManager, importId: string, result: unknown, fileHash: string): Promise<void> {
  await queryRows(tx, 'update acceptance_imports set result = ?, file_hash = ? where id = ?', [JSON.stringify(result), fileHash, importId]);
}

/** The first import with this key: its file's hash and its answer. */
export async function importByKey<R>(em: EntityManager, partnerId: string, key: string): Promise<{ file_hash: string; result: R } | undefined> {
  const [row] = await queryRows<{ file_hash: string; result: R }>(em, 'select file_hash, result from acceptance_imports where partner_id = ? and idempotency_key = ?', [partnerId, key]);
  return row;
}
