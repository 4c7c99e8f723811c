import type { Context, ExecutionContext, MiddlewareHandler } from 'hono';
import { Hono } from 'hono/tiny';
import type { FetchLike } from '../../etcd/index.js';
import { FetchUpstream, type Env } from '../../gateway/index.js';
import { executionContextOf, middlewareOf, type RuntimeHooks } from '../../http/index.js';
import { EnvGateway } from '../from-env.js';
import { HubSource } from './hub-source.js';
import { hubBinding } from './hub-wire.js';
import { etcdMtls, mtlsFetch } from './mtls.js';

export interface WorkerEdgeOptions {
  /** How etcd and the relay are reached, per environment; default the ETCD_EDGE_ETCD_MTLS binding, else global fetch. */
  etcdFetch?: (env: Env) => FetchLike | undefined;
  /** How instances are reached, per environment; default the ETCD_EDGE_UPSTREAM_MTLS binding, else global fetch. */
  upstreamFetch?: (env: Env) => FetchLike | undefined;
  /** What the runtime knows of a request, over the Worker's own (`cf-connecting-ip`, the colo, `waitUntil`). */
  hooks?: Partial<RuntimeHooks>;
}

/** The gateway of a Worker of one's own: configured from each request's `env`, one gateway per isolate. */
export interface WorkerEdge {
  /** Serves `/svc/*` (and `/_edge/*` with an admin token) and passes every other request on. */
  readonly middleware: MiddlewareHandler;
  /** The whole gateway as a Hono app: `app.route('/', edge.app)`. */
  readonly app: Hono;
  /** The whole gateway as a Worker's `fetch`. */
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * The isolate's data centre (`request.cf.colo`), read until a request
 * carries it: an isolate runs in one place, and each read of `cf` costs the
 * runtime a fresh object (~5 µs, a tenth of the gateway's own CPU per
 * request). Requests without `cf` (a service binding's, one made by
 * middleware) do not settle it; after `COLO_TRIES` of them in a row the
 * isolate is taken to have none (workerd outside Cloudflare). Under Smart
 * Placement `cf.colo` names where the request entered, not where the Worker
 * runs: give `hooks.zone` of one's own there.
 */
let isolateColo: string | undefined;
let coloMisses = 0;
const COLO_TRIES = 100;

/** Set by Cloudflare's edge for every request; a client cannot forge it there. */
const WORKER_HOOKS: RuntimeHooks = {
  clientIp: (c: Context) => c.req.header('cf-connecting-ip'),
  zone: (c: Context) => {
    if (isolateColo !== undefined || coloMisses >= COLO_TRIES) return isolateColo;
    const colo = (c.req.raw as Request & { cf?: { colo?: unknown } }).cf?.colo;
    if (typeof colo === 'string') isolateColo = colo;
    else coloMisses++;
    return isolateColo;
  },
  waitUntil: (c: Context) => {
    const ctx = executionContextOf(c);
    return ctx ? (promise) => ctx.waitUntil(promise) : undefined;
  },
  // Workers end a request's subrequests when its client goes away; request.signal fires only under the
  // enable_request_signal flag (a Worker with it may give `hooks: { clientSignal: true }`).
  clientSignal: false,
};

/**
 * The gateway for a Worker: configuration from `env` (vars and secrets),
 * built once per isolate and kept while `env` says the same; production
 * Workers reach no raw IP address (loopback only under `wrangler dev`);
 * through the SnapshotHub when `ETCD_EDGE_HUB` is bound; client certificates
 * through the `mtls_certificates` bindings named by `ETCD_EDGE_ETCD_MTLS` and
 * `ETCD_EDGE_UPSTREAM_MTLS`.
 *
 * @example
 * const edge = workerEdge();
 * const app = new Hono().use('/svc/*', cors(), jwt({ secret, alg: 'HS256' }), edge.middleware);
 * export default app;
 */
export function workerEdge(options: WorkerEdgeOptions = {}): WorkerEdge {
  const gateways = new EnvGateway(
    (env) => ({ watch: false, watchable: false, ipLiterals: 'loopback-only', hub: hubBinding(env) !== undefined }),
    { ...WORKER_HOOKS, ...options.hooks },
    (_config, env) => new FetchUpstream(options.upstreamFetch?.(env) ?? mtlsFetch(env, 'ETCD_EDGE_UPSTREAM_MTLS')),
    (env, config) => {
      const own = options.etcdFetch?.(env);
      const etcd = own ? { etcdFetch: own } : etcdMtls(env);
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
  const serve = (request: Request, env: Env, ctx: ExecutionContext | undefined): Response | Promise<Response> => {
    const gateway = gateways.for(env);
    if (gateway instanceof Response) return gateway;
    // Proxied requests go straight to the proxy route, past Hono's router.
    return gateway.fetch(request, env, ctx);
  };
  const app = new Hono();
  app.all('*', (c) => serve(c.req.raw, c.env as Env, executionContextOf(c)));
  return {
    middleware: middlewareOf((request, env, ctx) => serve(request, (env ?? {}) as Env, ctx)),
    app,
    fetch: serve,
  };
}
