import { getRequestListener } from '@hono/node-server';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { AddressPolicy, isGrpcContentType, loadConfig, SweptDeadlines, type CoreOptions, type Env, type GatewayConfig } from '../../gateway/index.js';
import { createGateway, type Gateway } from '../../http/index.js';
import type { FetchLike } from '../../etcd/index.js';
import { nodeAccessLog } from './access-log-sink.js';
import { guardedLookup } from './guarded-lookup.js';
import { GrpcWebEdge } from './grpc-web.js';
import { h2ProxyListener } from './h2-proxy.js';
import { H2Upstream } from './h2-upstream.js';
import { nodeHooks } from './hooks.js';
import { GatewayListener, type ListenerTls } from './listener.js';
import { nodeProxyListener } from './node-proxy.js';
import { processMetrics } from './process-metrics.js';
import { UndiciUpstream } from './undici-upstream.js';
import { WebSocketRelays } from './websocket.js';

export interface NodeGatewayOptions {
  config: GatewayConfig;
  /** Interface to listen on; default all. */
  host?: string;
  /** Serve TLS with this certificate and key (ALPN `h2` and `http/1.1`); cleartext HTTP/1.1 and h2c otherwise. */
  tls?: ListenerTls;
  /** How etcd is reached (TLS client certificates); default global fetch. */
  etcdFetch?: FetchLike;
  onError?: (error: unknown) => void;
  /** Conditions an operator must fix (a refused relay token), told once. */
  onWarning?: (text: string) => void;
  /**
   * Requests whose path starts with `prefix` go to `listener` instead (`serve
   * --relay` mounts the snapshot relay at `/v1/`); made from the gateway
   * before it listens, so the mount can share what the gateway holds (its etcd client).
   */
  mount?: (gateway: Gateway) => NodeMount;
  /** Puts a source in front of etcd (`serve --workers N`: the primary's snapshots over IPC). */
  source?: CoreOptions['source'];
}

export interface NodeMount {
  prefix: string;
  listener: RequestListener;
}

/** A listening Node gateway. */
export interface NodeGateway {
  readonly gateway: Gateway;
  /** `http(s)://host:port` it listens on: `http://[::]:8787` or `http://0.0.0.0:8787` on all interfaces. */
  readonly url: string;
  readonly port: number;
  /** `http://host:port` of the admin listener, when admin routes have one (`ETCD_EDGE_ADMIN_PORT`). */
  readonly adminUrl: string | undefined;
  /** Stops accepting, lets in-flight requests finish for up to `drainMs` (relayed WebSockets get a 1001 close at once), then closes everything. */
  close(drainMs?: number): Promise<void>;
  /**
   * Answers every later HTTP/1.1 request with `Connection: close`, so that
   * clients leave this process's connections as they use them (a rolling
   * restart: another process serves the port) rather than find them closed.
   */
  refuseKeepAlive(): void;
}

/** Defaults for Node before the environment speaks: watch mode on, any instance address the policy allows. */
export function nodeConfig(env: Env, endpoints = 'http://127.0.0.1:2379'): GatewayConfig {
  return loadConfig(env, { watch: true, ipLiterals: 'allow', endpoints });
}

/**
 * Serves the gateway over Node's HTTP server, with undici's pooled
 * connections to instances and etcd watches keeping snapshots current.
 *
 * @example
 * const node = await startNodeGateway({ config: nodeConfig(process.env) });
 * console.log(`gateway on ${node.url}`);
 */
export async function startNodeGateway(options: NodeGatewayOptions): Promise<NodeGateway> {
  const { config } = options;
  const policy = new AddressPolicy(config.addresses);
  const lookup = guardedLookup((address) => policy.checkResolved(address));
  const upstream = new UndiciUpstream({
    connectTimeoutMs: config.retry.connectTimeoutMs,
    lookup,
    webSockets: true,
  });
  const accessLog = nodeAccessLog(config.accessLog, options.onError);
  const gateway = createGateway({
    config,
    upstream,
    grpcUpstream: new H2Upstream({ connectTimeoutMs: config.retry.connectTimeoutMs, lookup }),
    deadlines: new SweptDeadlines(options.onError ? { onError: options.onError } : {}),
    ...(accessLog.sink ? { accessLog: accessLog.sink } : {}),
    hooks: nodeHooks,
    exposeMetrics: true,
    adminApart: config.adminListener !== undefined,
    runtimeMetrics: processMetrics,
    ...(options.etcdFetch ? { etcdFetch: options.etcdFetch } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.source ? { source: options.source } : {}),
  });
  let server: GatewayListener | undefined;
  let admin: Server | undefined;
  const mount = options.mount?.(gateway);
  const listener = gatewayListener(gateway, options.onError, mount);
  const webSockets = new WebSocketRelays(gateway.proxy, listener, config.websocket, gateway.metrics, options.onError);
  try {
    server = await GatewayListener.listen({ http1: listener, http2: http2Listener(gateway, options.onError, mount) }, config.port, options.host, options.tls);
    server.http1.on('upgrade', webSockets.listener);
    if (gateway.admin && config.adminListener) {
      const adminApp = getRequestListener(gateway.admin.fetch);
      admin = await listen((incoming, outgoing) => void adminApp(incoming, outgoing), config.adminListener.port, config.adminListener.host);
    }
  } catch (error) {
    // Nothing was served: let go of what was started (watches, pools, the log file) before saying why.
    void server?.close(0);
    await gateway.close();
    await accessLog.close();
    throw error;
  }
  const address = server.address();
  return {
    gateway,
    port: address.port,
    url: urlOf(address, options.tls ? 'https' : 'http'),
    adminUrl: admin && urlOf(admin.address() as AddressInfo),
    refuseKeepAlive: () => void server.http1.prependListener('request', (_incoming, outgoing) => (outgoing.shouldKeepAlive = false)),
    close: async (drainMs = 10_000) => {
      admin?.closeAllConnections();
      admin?.close();
      await Promise.all([shutdown(server, gateway, drainMs), webSockets.close(drainMs)]);
      await accessLog.close();
    },
  };
}

function urlOf(address: AddressInfo, scheme = 'http'): string {
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

function gatewayListener(gateway: Gateway, onError: ((error: unknown) => void) | undefined, mount: NodeMount | undefined): RequestListener {
  const grpcWeb = new GrpcWebEdge(gateway.config.corsOrigins);
  const proxy = nodeProxyListener(gateway.proxy, onError, grpcWeb);
  const app = getRequestListener(gateway.app.fetch);
  // `/svc/` in origin form (what clients send) skips Hono; the rest (admin routes, absolute form) goes through it.
  return (incoming, outgoing) => {
    if (incoming.url?.startsWith('/svc/')) proxy(incoming, outgoing);
    else if (mount && incoming.url?.startsWith(mount.prefix)) mount.listener(incoming, outgoing);
    // A gRPC call over HTTP/1.1: the proxy refuses it, saying why.
    else if (isGrpcContentType(incoming.headers['content-type'])) proxy(incoming, outgoing);
    // gRPC-Web calls to /{pkg.Service}/{Method} and their CORS preflights.
    else if (grpcWeb.kindOfRaw(incoming) !== undefined) proxy(incoming, outgoing);
    else void app(incoming, outgoing);
  };
}

/** The same routes for HTTP/2, where gRPC calls (`/{pkg.Service}/{Method}`) go to the proxy too. */
function http2Listener(gateway: Gateway, onError: ((error: unknown) => void) | undefined, mount: NodeMount | undefined): (incoming: Http2ServerRequest, outgoing: Http2ServerResponse) => void {
  const grpcWeb = new GrpcWebEdge(gateway.config.corsOrigins);
  const proxy = h2ProxyListener(gateway.proxy, onError, grpcWeb);
  const app = getRequestListener(gateway.app.fetch);
  return (incoming, outgoing) => {
    const { headers } = incoming;
    if (incoming.url.startsWith('/svc/') || isGrpcContentType(headers['content-type'])) proxy(incoming, outgoing);
    else if (grpcWeb.kindOf(incoming.method, headers['content-type'], headers['access-control-request-headers']) !== undefined) proxy(incoming, outgoing);
    // The mounted relay is Hono's, whose Node listener takes HTTP/2's compatibility request as well.
    else if (mount && incoming.url.startsWith(mount.prefix)) mount.listener(incoming as never, outgoing as never);
    else void app(incoming, outgoing);
  };
}

function listen(listener: RequestListener, port: number, hostname: string | undefined): Promise<Server> {
  const server = createServer(listener);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}

async function shutdown(listener: GatewayListener, gateway: Gateway, drainMs: number): Promise<void> {
  await listener.close(drainMs);
  await gateway.close();
}
