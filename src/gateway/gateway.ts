import { Hono } from 'hono';
import { Balancer } from '../balance/index.js';
import { etcdSource, RelaySource, Resolver, type SnapshotSource } from '../discovery/index.js';
import { EtcdClient, type FetchLike } from '../etcd/index.js';
import { layoutByName } from '../registry/index.js';
import { AddressPolicy } from './address-policy.js';
import type { AccessLogSink } from './access-log.js';
import { adminRoutes } from './admin.js';
import type { RuntimeHooks } from './client-side.js';
import { ColdLookupLimiter, DEFAULT_COLD_LIMITS } from './cold-limiter.js';
import type { GatewayConfig } from './config.js';
import { errorResponse } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { createProxy, type ProxyHandler } from './proxy.js';
import { proxyRoute } from './proxy-route.js';
import { fieldsOf } from './fields.js';
import { RoutableCache } from './routable.js';
import { requestIdOf } from './headers.js';
import { DOT_SEGMENT } from './target.js';
import type { Upstream } from './upstream.js';

export interface GatewayOptions {
  config: GatewayConfig;
  upstream: Upstream;
  hooks: RuntimeHooks;
  /** How etcd is reached (TLS agents, tests); default global fetch. */
  etcdFetch?: FetchLike;
  /** How a snapshot relay is reached (`ETCD_EDGE_RELAY_URL`); default `etcdFetch`, so one TLS setup serves both. */
  relayFetch?: FetchLike;
  /** Puts another source in front of the configured one (etcd or the relay, given as `direct`): the Workers snapshot hub. */
  source?: (direct: SnapshotSource) => SnapshotSource;
  /** Admin routes on an app of their own (`Gateway.admin`) for a listener of their own, none on `app` (Node's admin port). */
  adminApart?: boolean;
  /**
   * Where access log lines go when `ETCD_EDGE_ACCESS_LOG` is not `off`: Node
   * gives stdout or a file; by default they go to `console.log` (Workers, Lambda).
   */
  accessLog?: AccessLogSink;
  /** Serve `/_edge/metrics` (long-lived runtimes). */
  exposeMetrics?: boolean;
  /** The runtime's own figures (memory, open handles), appended to `/_edge/metrics` as Prometheus text. */
  runtimeMetrics?: () => string;
  /** Told about failures the gateway answered for but could not pin on a request (never shown to clients). */
  onError?: (error: unknown) => void;
  /** Told once about a condition only an operator can fix: the relay refusing the token (again after it was accepted since). */
  onWarning?: (text: string) => void;
  now?: () => number;
}

/** A running gateway: the Hono app and what it holds. */
export interface Gateway {
  readonly app: Hono;
  /** The admin routes alone, when asked for apart (`adminApart`) and an admin token is set. */
  readonly admin: Hono | undefined;
  /** The `/svc/` handler itself, for runtimes that serve it without a Web `Request` (Node). */
  readonly proxy: ProxyHandler;
  readonly resolver: Resolver;
  readonly balancer: Balancer;
  readonly metrics: GatewayMetrics;
  /**
   * The client the gateway reads etcd with (undefined when it reads a relay).
   * Whatever else in the process talks to etcd (a start-up probe, a mounted
   * relay) goes through it: each client logs in on its own.
   */
  readonly etcd: EtcdClient | undefined;
  /** Stops watches and releases upstream connections. */
  close(): Promise<void>;
}

/**
 * Builds the gateway: `ANY /svc/{service}/*` proxied to the service's
 * instances, and `/_edge/*` admin routes when an admin token is configured.
 *
 * @example
 * const gateway = createGateway({ config: loadConfig(env, defaults), upstream: new FetchUpstream(), hooks });
 * export default { fetch: gateway.app.fetch };
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const now = options.now ?? Date.now;
  const metrics = new GatewayMetrics();
  const etcdFetch = countCalls(options.etcdFetch ?? ((input, init) => fetch(input, init)), metrics);
  // With a relay, etcd is never called (it may be unreachable from here): the relay reads it.
  const relay = config.relay ? new RelaySource({ ...config.relay, fetch: options.relayFetch ?? options.etcdFetch ?? ((input, init) => fetch(input, init)), now, onRefused: (error) => options.onWarning?.(error.message) }) : undefined;
  const etcd = relay ? undefined : new EtcdClient({ ...config.etcd, fetch: etcdFetch });
  const layouts = config.layouts.map((name) => layoutByName(name, { nativePrefix: config.prefix }));
  const direct = relay ?? etcdSource(etcd!, { layouts, pageSize: 1_000, now });
  const front = options.source?.(direct);
  const resolver = new Resolver({ ...(front ? { source: front } : relay ? { source: relay } : { etcd: etcd! }), layouts, cacheTtlMs: config.cacheTtlMs, watch: config.watch, now });
  const balancer = new Balancer({ strategy: config.strategy, ejection: config.ejection, now, onEject: () => metrics.ejection() });
  const routable = new RoutableCache(new AddressPolicy(config.addresses));
  const coldLookups = new ColdLookupLimiter(DEFAULT_COLD_LIMITS, now);

  const app = edgeApp(options);
  let adminApp: Hono | undefined;
  if (config.adminToken !== undefined) {
    const routes = adminRoutes({ token: config.adminToken, resolver, balancer, routable, etcd, relay, front, probeKey: config.prefix, metrics: options.exposeMetrics ? metrics : undefined, now, ...(options.runtimeMetrics ? { runtimeMetrics: options.runtimeMetrics } : {}), hooks: options.hooks });
    // Node can serve them on a listener of their own, and then the main port has none.
    adminApp = options.adminApart ? edgeApp(options) : app;
    // `/svc/` requests are checked by the proxy itself; admin routes get the same limit on header fields.
    adminApp.use('/_edge/*', async (c, next) => {
      let count = 0;
      c.req.raw.headers.forEach(() => void count++);
      if (count > config.limits.maxHeaders) return errorResponse('TOO_MANY_HEADERS', `a request may carry at most ${config.limits.maxHeaders} header fields`);
      await next();
    });
    adminApp.route('/_edge', routes);
  }
  const accessLog = config.accessLog === 'off' ? undefined : (options.accessLog ?? ((line: string) => console.log(line)));
  const proxy = createProxy({ config, resolver, routable, balancer, upstream: options.upstream, metrics, coldLookups, now, accessLog });
  app.all('/svc/*', proxyRoute(proxy, options.hooks));
  return {
    app,
    admin: options.adminApart ? adminApp : undefined,
    proxy,
    resolver,
    balancer,
    metrics,
    etcd,
    close: async () => {
      resolver.close();
      await options.upstream.close?.();
    },
  };
}

/** A Hono app with the gateway's checks on raw paths, its 404 and its error answer. */
function edgeApp(options: GatewayOptions): Hono {
  const app = new Hono();
  const { rawPath } = options.hooks;
  if (rawPath) {
    // The runtime resolved dot segments before routing; refuse them as sent rather than route what they resolve to.
    app.use('*', async (c, next) => {
      const raw = rawPath(c);
      if (raw !== undefined && DOT_SEGMENT.test(raw)) {
        return errorResponse('BAD_REQUEST', 'path must not contain dot segments', { requestId: requestIdOf(fieldsOf(c.req.raw.headers)) });
      }
      await next();
    });
  }
  app.notFound(() => errorResponse('NOT_FOUND', 'routes are /svc/{service}/{path}'));
  app.onError((error) => {
    options.onError?.(error);
    return errorResponse('INTERNAL', 'the gateway failed on this request');
  });
  return app;
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
