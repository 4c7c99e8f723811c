import type { EtcdClient } from '../etcd/index.js';
import { decodeRecord, servesService, type Decoded, type KeyLayout } from '../registry/index.js';

/** One service as read from etcd: its records by key, and the revision each layout was read at (0: not read). */
export interface LoadedService {
  records: Map<string, Decoded>;
  revisions: number[];
  revision: number;
}

/**
 * Reads a service's keys in every layout (in pages, so a large service never
 * arrives as one huge response) and decodes them.
 */
export async function loadService(
  etcd: EtcdClient,
  layouts: readonly KeyLayout[],
  service: string,
  pageSize: number,
  signal?: AbortSignal,
): Promise<LoadedService> {
  const results = await Promise.all(
    layouts.map((layout) =>
      servesService(layout, service, layouts) ? etcd.range({ prefix: layout.servicePrefix(service) }, { pageSize, ...(signal ? { signal } : {}) }) : undefined,
    ),
  );
  const records = new Map<string, Decoded>();
  results.forEach((result, i) => {
    for (const kv of result?.kvs ?? []) {
      const decoded = decodeRecord(layouts[i]!, kv);
      if (decoded) records.set(decoded.ok ? decoded.instance.key : decoded.skipped.key, decoded);
    }
  });
  const revisions = results.map((r) => r?.header.revision ?? 0);
  return { records, revisions, revision: Math.max(...revisions) };
}
