import { Balancer } from '../balance/index.js';
import { etcdSource, RelaySource, Resolver, type SnapshotSource } from '../discovery/index.js';
import { EtcdClient, type FetchLike } from '../etcd/index.js';
import { layoutByName } from '../registry/index.js';
import type { AccessLogSink } from './access-log.js';
import { AddressPolicy, RoutableCache } from './address-policy.js';
import { ColdLookupLimiter, DEFAULT_COLD_LIMITS } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import type { Deadlines } from './deadlines.js';
import { GatewayMetrics } from './metrics.js';
import type { ProxyHandler } from './outcome.js';
import { createProxy } from './proxy.js';
import type { Upstream } from './upstream.js';

export interface CoreOptions {
  config: GatewayConfig;
  upstream: Upstream;
  /** Sends gRPC calls (HTTP/2 to instances); without one, gRPC is refused. */
  grpcUpstream?: Upstream;
  /** How etcd is reached (TLS agents, a Worker's mTLS binding, tests); default global fetch. */
  etcdFetch?: FetchLike;
  /** How a snapshot relay is reached (`ETCD_EDGE_RELAY_URL`); default `etcdFetch`, so one TLS setup serves both. */
  relayFetch?: FetchLike;
  /** Puts another source in front of the configured one (etcd or the relay, given as `direct`): the Workers snapshot hub. */
  source?: (direct: SnapshotSource) => SnapshotSource;
  /** Watch mode: told that a watched service changed (`serve --workers N`'s primary pushes it to workers then). */
  onSnapshotChange?: (service: string) => void;
  /**
   * Where access log lines go when `ETCD_EDGE_ACCESS_LOG` is not `off`: Node
   * gives stdout or a file; by default they go to `console.log` (Workers, Lambda).
   */
  accessLog?: AccessLogSink;
  /** Told once about a condition only an operator can fix: the relay refusing the token (again after it was accepted since). */
  onWarning?: (text: string) => void;
  /** How attempts' timeouts are kept: Node sweeps them (`SweptDeadlines`); default a timer each, which Workers need. */
  deadlines?: Deadlines;
  now?: () => number;
}

/**
 * The gateway without any HTTP framework: discovery, selection, address
 * policy and the `/svc/` proxy as a callback handler. Runtimes serve
 * `proxy` themselves (Node) or through the Hono app in `src/http/`.
 */
export interface GatewayCore {
  readonly config: GatewayConfig;
  /** The `/svc/` handler: one request in, one outcome out. */
  readonly proxy: ProxyHandler;
  readonly resolver: Resolver;
  readonly balancer: Balancer;
  readonly routable: RoutableCache;
  readonly metrics: GatewayMetrics;
  /**
   * The client the gateway reads etcd with (undefined when it reads a relay).
   * Whatever else in the process talks to etcd (a start-up probe, a mounted
   * relay) goes through it: each client logs in on its own.
   */
  readonly etcd: EtcdClient | undefined;
  /** The snapshot relay read instead of etcd, when configured. */
  readonly relay: RelaySource | undefined;
  /** The source read in front of etcd or the relay (the Workers hub), when given. */
  readonly front: SnapshotSource | undefined;
  readonly now: () => number;
  /** Stops watches and releases upstream connections. */
  close(): Promise<void>;
}

/**
 * Wires one gateway's parts from its configuration: etcd (or the relay) →
 * resolver → balancer → address policy → proxy.
 *
 * @example
 * const core = createGatewayCore({ config: loadConfig(env, defaults), upstream: new FetchUpstream() });
 */
export function createGatewayCore(options: CoreOptions): GatewayCore {
  const { config } = options;
  const now = options.now ?? Date.now;
  const metrics = new GatewayMetrics();
  const etcdFetch = countCalls(options.etcdFetch ?? ((input, init) => fetch(input, init)), metrics);
  // With a relay, etcd is never called (it may be unreachable from here): the relay reads it.
  const relay = config.relay
    ? new RelaySource({ ...config.relay, fetch: options.relayFetch ?? options.etcdFetch ?? ((input, init) => fetch(input, init)), now, onRefused: (error) => options.onWarning?.(error.message) })
    : undefined;
  const etcd = relay ? undefined : new EtcdClient({ ...config.etcd, fetch: etcdFetch });
  const layouts = config.layouts.map((name) => layoutByName(name, { nativePrefix: config.prefix }));
  const direct = relay ?? etcdSource(etcd!, { layouts, pageSize: 1_000, now });
  const front = options.source?.(direct);
  const resolver = new Resolver({ ...(front ? { source: front } : relay ? { source: relay } : { etcd: etcd! }), layouts, cacheTtlMs: config.cacheTtlMs, watch: config.watch, now, ...(options.onSnapshotChange ? { onChange: options.onSnapshotChange } : {}) });
  const balancer = new Balancer({ strategy: config.strategy, ejection: config.ejection, now, onEject: () => metrics.ejection() });
  const routable = new RoutableCache(new AddressPolicy(config.addresses));
  const coldLookups = new ColdLookupLimiter(DEFAULT_COLD_LIMITS, now);
  const accessLog = config.accessLog === 'off' ? undefined : (options.accessLog ?? ((line: string) => console.log(line)));
  const proxy = createProxy({ config, resolver, routable, balancer, upstream: options.upstream, grpcUpstream: options.grpcUpstream, metrics, coldLookups, now, accessLog, deadlines: options.deadlines });
  return {
    config,
    proxy,
    resolver,
    balancer,
    routable,
    metrics,
    etcd,
    relay,
    front,
    now,
    close: async () => {
      resolver.close();
      await Promise.all([options.upstream.close?.(), options.grpcUpstream?.close?.()]);
    },
  };
}

function countCalls(inner: FetchLike, metrics: GatewayMetrics): FetchLike {
  return async (input, init) => {
    try {
      const response = await inner(input, init);
      metrics.etcdCall(response.ok);
      return response;
    } catch (error) {
      metrics.etcdCall(false);
      throw error;
    }
  };
}
