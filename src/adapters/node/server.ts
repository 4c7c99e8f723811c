import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressPolicy, createGateway, loadConfig, type Env, type Gateway, type GatewayConfig } from '../../gateway/index.js';
import type { FetchLike } from '../../etcd/index.js';
import { guardedLookup } from './guarded-lookup.js';
import { nodeHooks } from './hooks.js';
import { nodeProxyListener } from './node-proxy.js';
import { processMetrics } from './process-metrics.js';
import { UndiciUpstream } from './undici-upstream.js';

export interface NodeGatewayOptions {
  config: GatewayConfig;
  /** Interface to listen on; default all. */
  host?: string;
  /** How etcd is reached (TLS client certificates); default global fetch. */
  etcdFetch?: FetchLike;
  onError?: (error: unknown) => void;
}

/** A listening Node gateway. */
export interface NodeGateway {
  readonly gateway: Gateway;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then closes everything. */
  close(drainMs?: number): Promise<void>;
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
  const upstream = new UndiciUpstream({
    connectTimeoutMs: config.retry.connectTimeoutMs,
    lookup: guardedLookup((address) => policy.checkResolved(address)),
  });
  const gateway = createGateway({
    config,
    upstream,
    hooks: nodeHooks,
    exposeMetrics: true,
    runtimeMetrics: processMetrics,
    ...(options.etcdFetch ? { etcdFetch: options.etcdFetch } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const server = await listen(gateway, config.port, options.host, options.onError);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    gateway,
    port: address.port,
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    close: (drainMs = 10_000) => shutdown(server, gateway, drainMs),
  };
}

function listen(gateway: Gateway, port: number, hostname: string | undefined, onError: ((error: unknown) => void) | undefined): Promise<Server> {
  const proxy = nodeProxyListener(gateway.proxy, onError);
  const app = getRequestListener(gateway.app.fetch);
  // `/svc/` in origin form (what clients send) skips Hono; the rest (admin routes, absolute form) goes through it.
  const server = createServer((incoming, outgoing) => {
    if (incoming.url?.startsWith('/svc/')) proxy(incoming, outgoing);
    else void app(incoming, outgoing);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}

async function shutdown(http: Server, gateway: Gateway, drainMs: number): Promise<void> {
  const drained = new Promise<void>((resolve) => http.close(() => resolve()));
  // A keep-alive connection turns idle when its last request ends; close it then, not at its timeout.
  const sweeper = setInterval(() => http.closeIdleConnections(), 50);
  http.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
  await Promise.race([drained, deadline]);
  clearTimeout(timer);
  clearInterval(sweeper);
  http.closeAllConnections();
  await gateway.close();
}
