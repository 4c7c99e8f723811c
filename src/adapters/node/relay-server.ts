import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Resolver } from '../../discovery/index.js';
import type { EtcdClient } from '../../etcd/index.js';
import type { KeyLayout } from '../../registry/index.js';
import { SnapshotRelay, type RelayConfig } from '../../relay/index.js';
import { processMetrics } from './process-metrics.js';

export interface NodeRelayOptions {
  etcd: EtcdClient;
  layouts: readonly KeyLayout[];
  config: RelayConfig;
  port: number;
  /** Interface to listen on; default all. */
  host?: string;
}

/** A listening snapshot relay. */
export interface NodeRelay {
  readonly relay: SnapshotRelay;
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Stops accepting, answers held long-polls (304) so clients move on, lets requests finish for up to `drainMs`, stops the watches. */
  close(drainMs?: number): Promise<void>;
}

/**
 * A resolver in watch mode for the relay: a service is watched from its first
 * request and dropped after `idleMs`; no stale-while-revalidate, so a snapshot
 * no watch keeps current is read again rather than served old while etcd answers.
 */
export function relayResolver(etcd: EtcdClient, layouts: readonly KeyLayout[], config: RelayConfig): Resolver {
  return new Resolver({ etcd, layouts, watch: true, staleWhileRevalidateMs: 0, maxServices: config.maxServices, watchIdleMs: config.idleMs });
}

/** The relay over a resolver, its limits keyed by the peer's address. */
export function nodeRelay(etcd: EtcdClient, resolver: Resolver, layouts: readonly KeyLayout[], config: RelayConfig): SnapshotRelay {
  return new SnapshotRelay({
    resolver,
    etcd,
    probeKey: layouts[0]?.root ?? '',
    tokens: config.tokens,
    limits: config.limits,
    clientAddress: (c) => getConnInfo(c).remote.address,
    runtimeMetrics: processMetrics,
  });
}

/**
 * Serves the snapshot relay over Node's HTTP server.
 *
 * @example
 * const node = await startNodeRelay({ etcd, layouts: [nativeLayout()], config: relayConfig(process.env), port: 8790 });
 */
export async function startNodeRelay(options: NodeRelayOptions): Promise<NodeRelay> {
  const resolver = relayResolver(options.etcd, options.layouts, options.config);
  const relay = nodeRelay(options.etcd, resolver, options.layouts, options.config);
  const listener = getRequestListener(relay.app.fetch);
  const server = createServer((incoming, outgoing) => void listener(incoming, outgoing));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    resolver.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  return {
    relay,
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: async (drainMs = 10_000) => {
      await drain(server, relay, drainMs);
      resolver.close();
    },
  };
}

async function drain(server: Server, relay: SnapshotRelay, drainMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  relay.release();
  // Answered long-polls leave keep-alive connections idle: close them as they turn so.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
  clearTimeout(timer);
  clearInterval(sweeper);
  server.closeAllConnections();
}
