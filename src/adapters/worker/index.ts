import type { Context, ExecutionContext } from 'hono';
import { FetchUpstream, type Env } from '../../gateway/index.js';
import { EnvGateway } from '../from-env.js';
import { HubSource } from './hub-source.js';
import { hubBinding } from './hub-wire.js';
import { etcdMtls, mtlsFetch } from './mtls.js';

export { SnapshotHub } from './hub.js';

const gateways = new EnvGateway(
  // Workers cannot fetch raw IP addresses in production; `wrangler dev` can reach loopback.
  // With the ETCD_EDGE_HUB binding, isolates read through the SnapshotHub Durable Object.
  (env) => ({ watch: false, watchable: false, ipLiterals: 'loopback-only', hub: hubBinding(env) !== undefined }),
  {
    // Set by Cloudflare's edge for every request; a client cannot forge it there.
    clientIp: (c: Context) => c.req.header('cf-connecting-ip'),
    zone: (c: Context) => {
      const colo = (c.req.raw as Request & { cf?: { colo?: unknown } }).cf?.colo;
      return typeof colo === 'string' ? colo : undefined;
    },
    waitUntil: (c: Context) => {
      try {
        const ctx = c.executionCtx;
        return (promise) => ctx.waitUntil(promise);
      } catch {
        return undefined;
      }
    },
  },
  // Client certificates: instances through ETCD_EDGE_UPSTREAM_MTLS's binding, etcd and the relay through ETCD_EDGE_ETCD_MTLS's.
  (_config, env) => new FetchUpstream(mtlsFetch(env, 'ETCD_EDGE_UPSTREAM_MTLS')),
  (env, config) => {
    const etcd = etcdMtls(env);
    const hub = hubBinding(env);
    if (!hub || !config.hub) return etcd;
    const { fallback, locationHint } = config.hub;
    return {
      ...etcd,
      source: (direct) =>
        new HubSource({
          hub,
          locationHint,
          fallback: fallback ? direct : undefined,
          onHubFailure: (error) => console.error(`etcd-edge: the snapshot hub failed${fallback ? '; reading directly until it answers' : ''}:`, error),
        }),
    };
  },
);

/**
 * The Cloudflare Worker: configuration from `env` (vars and secrets), one
 * gateway per isolate, background refreshes through `ctx.waitUntil`.
 */
export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const gateway = gateways.for(env);
    return gateway instanceof Response ? gateway : gateway.app.fetch(request, env, ctx);
  },
};
