import type { EtcdClient } from '../etcd/index.js';
import { decodeRecord, printableKey, servesService, type Decoded, type KeyLayout } from '../registry/index.js';
import type { Snapshot } from './snapshot.js';

/** One service as read from etcd: its records by key, and the revision each layout was read at (0: not read). */
export interface LoadedService {
  records: Map<string, Decoded>;
  revisions: number[];
  revision: number;
  /** How many instances were taken unchanged from the previous snapshot. */
  reused: number;
}

export interface LoadOptions {
  pageSize: number;
  signal?: AbortSignal | undefined;
  /** The service's last snapshot: an instance whose key and mod revision are unchanged is reused, not decoded again. */
  previous?: Snapshot | undefined;
}

/**
 * Reads a service's keys in every layout (in pages, so a large service never
 * arrives as one huge response) and decodes them.
 */
export async function loadService(etcd: EtcdClient, layouts: readonly KeyLayout[], service: string, options: LoadOptions): Promise<LoadedService> {
  const { pageSize, signal } = options;
  const results = await Promise.all(
    layouts.map((layout) =>
      servesService(layout, service, layouts) ? etcd.range({ prefix: layout.servicePrefix(service) }, { pageSize, ...(signal ? { signal } : {}) }) : undefined,
    ),
  );
  const known = new Map(options.previous?.instances.map((i) => [i.key, i]));
  const records = new Map<string, Decoded>();
  let reused = 0;
  results.forEach((result, i) => {
    const layout = layouts[i]!;
    for (const kv of result?.kvs ?? []) {
      const old = known.size > 0 ? known.get(printableKey(kv.key)) : undefined;
      if (old?.revision === kv.modRevision && old.layout === layout.name) {
        records.set(old.key, { ok: true, instance: old });
        reused++;
        continue;
      }
      const decoded = decodeRecord(layout, kv);
      if (decoded) records.set(decoded.ok ? decoded.instance.key : decoded.skipped.key, decoded);
    }
  });
  const revisions = results.map((r) => r?.header.revision ?? 0);
  return { records, revisions, revision: Math.max(...revisions), reused };
}
