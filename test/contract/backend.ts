import type { EtcdClient, EtcdClientOptions } from '../../src/index.js';

/** What the contract suite needs from an etcd it runs against. */
export interface ContractBackend {
  /** A client of this etcd; options override the defaults. */
  client(options?: Partial<EtcdClientOptions>): EtcdClient;
  /** Cuts every open connection, watch streams included. */
  dropConnections(): void;
  /** An etcd with auth on, for the auth tests. */
  auth: AuthBackend;
}

export interface AuthBackend {
  client(options?: Partial<EtcdClientOptions>): EtcdClient;
  username: string;
  password: string;
  /** Makes every issued token invalid (waits out the token TTL on a real server). */
  expireTokens(): Promise<void>;
}

/** A key prefix no other test uses, so tests share one etcd without wiping it. */
export function uniquePrefix(name: string): string {
  return `contract/${name}/${crypto.randomUUID()}/`;
}

/**
 * Collects items until `until` says stop or the time runs out, then aborts
 * `controller` (the watch's signal) so the stream is released.
 */
export async function collect<T>(
  iterable: AsyncIterable<T>,
  controller: AbortController,
  until: (items: T[]) => boolean,
  timeoutMs = 5_000,
): Promise<T[]> {
  const items: T[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const item of iterable) {
      items.push(item);
      if (until(items)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return items;
}
