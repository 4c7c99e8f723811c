import type { Hono, MiddlewareHandler } from 'hono';
import type { FetchLike } from '../etcd/index.js';
import { FetchUpstream, loadConfig, type Env, type GatewayConfig, type RuntimeDefaults, type Upstream } from '../gateway/index.js';
import { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
import type { RuntimeHooks } from './hooks.js';

/** Everything a gateway can be told, for a program that builds one itself. */
export interface EdgeOptions extends Omit<GatewayOptions, 'config' | 'upstream' | 'hooks'> {
  /** A configuration already loaded (`loadConfig`); `env`, `defaults` and `configure` are then not read. */
  config?: GatewayConfig;
  /**
   * The gateway's variables (README "Configuration": `ETCD_ENDPOINTS`,
   * `ETCD_EDGE_RELAY_URL`, `ETCD_EDGE_STRATEGY`, …), validated exactly as a
   * deployed gateway's are; default none (etcd on `defaults.endpoints`).
   */
  env?: Env;
  /** Typed changes to what `env` configured, applied once: a strategy, address rules, retries. */
  configure?: (config: GatewayConfig) => GatewayConfig;
  /** What the runtime allows before `env` speaks; default: no watch, any instance address the policy allows. */
  defaults?: RuntimeDefaults;
  /** How instances are reached; default `FetchUpstream` over `upstreamFetch`. */
  upstream?: Upstream;
  /** The `fetch` instances are reached with when no `upstream` is given (a Worker's mTLS binding); default global fetch. */
  upstreamFetch?: FetchLike;
  /** What the runtime knows about a request (client address, zone); default none. */
  hooks?: Partial<RuntimeHooks>;
}

/** A gateway to compose into a Hono app of one's own. */
export interface Edge extends Gateway {
  /**
   * Serves `/svc/*` (and `/_edge/*` when an admin token is set) and hands
   * every other request to the next handler:
   * `app.use('/svc/*', jwt({ secret }), edge.middleware)`.
   */
  readonly middleware: MiddlewareHandler;
}

const PORTABLE_DEFAULTS: RuntimeDefaults = { watch: false, ipLiterals: 'allow', watchable: true };

/**
 * Builds a gateway for a program of one's own: `edge.app` is the whole
 * gateway (mount it with `app.route('/', edge.app)` or serve it), and
 * `edge.middleware` puts it behind middleware of one's own.
 *
 * @throws {ConfigError} naming the first bad variable in `env`
 * @example
 * const edge = etcdEdge({ env: { ETCD_ENDPOINTS: 'https://etcd.internal:2379' } });
 * const app = new Hono();
 * app.use('/svc/*', cors(), edge.middleware);
 */
export function etcdEdge(options: EdgeOptions = {}): Edge {
  const { config, env = {}, configure = (loaded) => loaded, defaults = PORTABLE_DEFAULTS, upstream, upstreamFetch, hooks = {}, ...rest } = options;
  const gateway = createGateway({
    ...rest,
    config: config ?? configure(loadConfig(env, defaults)),
    upstream: upstream ?? new FetchUpstream(upstreamFetch),
    hooks: { clientIp: () => undefined, ...hooks },
  });
  return { ...gateway, middleware: middlewareOf((request, env, ctx) => gateway.fetch(request, env, ctx)) };
}

/** A gateway as middleware: its own paths answered by `serve`, every other one passed on. */
export function middlewareOf(serve: (request: Request, env: unknown, ctx: ExecutionContextLike | undefined) => Response | Promise<Response>): MiddlewareHandler {
  return async (c, next) => {
    const path = c.req.path;
    if (!path.startsWith('/svc/') && !path.startsWith('/_edge/') && path !== '/_edge') return next();
    return serve(c.req.raw, c.env, executionContextOf(c));
  };
}

type ExecutionContextLike = Parameters<Hono['fetch']>[2];

/** The Worker's execution context, when the runtime has one (Hono throws otherwise). */
export function executionContextOf(c: Parameters<MiddlewareHandler>[0]): ExecutionContextLike | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}
