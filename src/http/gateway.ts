import { Context, type ExecutionContext } from 'hono';
import { Hono } from 'hono/tiny';
import { createGatewayCore, DOT_SEGMENT, errorResponse, fieldsOf, pathOf, requestIdOf, SERVICE_PREFIX, type CoreOptions, type GatewayCore } from '../gateway/index.js';
import { adminDashboard, adminRoutes, type AdminDeps } from './admin.js';
import type { RuntimeHooks } from './hooks.js';
import { proxyRoute } from './proxy-route.js';

export interface GatewayOptions extends CoreOptions {
  hooks: RuntimeHooks;
  /** Admin routes on an app of their own (`Gateway.admin`) for a listener of their own, none on `app` (Node's admin port). */
  adminApart?: boolean;
  /** Serve `/_edge/metrics` (long-lived runtimes). */
  exposeMetrics?: boolean;
  /** The runtime's own figures (memory, open handles), appended to `/_edge/metrics` as Prometheus text. */
  runtimeMetrics?: () => string;
  /** Told about failures the gateway answered for but could not pin on a request (never shown to clients). */
  onError?: (error: unknown) => void;
}

/** A running gateway: its core and the Hono app that serves it. */
export interface Gateway extends GatewayCore {
  readonly app: Hono;
  /** The admin routes alone, when asked for apart (`adminApart`) and an admin token is set. */
  readonly admin: Hono | undefined;
  /**
   * Answers as `app.fetch` does, with `/svc/` requests taken straight to the
   * proxy route past Hono's router (a Worker's fetch: ~5 µs of its request);
   * just `app.fetch` where hooks check raw paths (`rawPath`), which the app runs first.
   */
  readonly fetch: (request: Request, env?: unknown, ctx?: ExecutionContext) => Response | Promise<Response>;
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
  const core = createGatewayCore(options);
  const { config } = core;
  const app = edgeApp(options);
  let adminApp: Hono | undefined;
  if (config.adminToken !== undefined) {
    const deps: AdminDeps = {
      token: config.adminToken,
      resolver: core.resolver,
      balancer: core.balancer,
      routable: core.routable,
      etcd: core.etcd,
      relay: core.relay,
      front: core.front,
      now: core.now,
      traffic: core.metrics.traffic,
      probeKey: config.prefix,
      metrics: options.exposeMetrics ? core.metrics : undefined,
      ...(options.runtimeMetrics ? { runtimeMetrics: options.runtimeMetrics } : {}),
      hooks: options.hooks,
    };
    // Node can serve them on a listener of their own, and then the main port has none.
    adminApp = options.adminApart ? edgeApp(options) : app;
    // `/svc/` requests are checked by the proxy itself; admin routes get the same limit on header fields.
    adminApp.use('/_edge/*', async (c, next) => {
      let count = 0;
      c.req.raw.headers.forEach(() => void count++);
      if (count > config.limits.maxHeaders) return errorResponse('TOO_MANY_HEADERS', `a request may carry at most ${config.limits.maxHeaders} header fields`);
      await next();
    });
    // The dashboard lives at `/_edge/` (its cookie's path); the tiny router matches `/_edge` here too, so look at the path.
    adminApp.get('/_edge', async (c, next) => (c.req.path === '/_edge' ? c.redirect('/_edge/', 301) : next()));
    adminApp.route('/_edge/', adminDashboard(deps));
    adminApp.route('/_edge', adminRoutes(deps));
  }
  const route = proxyRoute(core.proxy, options.hooks);
  app.all('/svc/*', route);
  const proxied = async (request: Request, path: string, env: unknown, executionCtx: ExecutionContext | undefined): Promise<Response> => {
    let response: Response;
    try {
      response = await route(new Context(request, { env, executionCtx, path }));
    } catch (error) {
      response = failed(options, error);
    }
    // As Hono answers HEAD: the fields of the answer, no body (the gateway's JSON errors have one).
    return request.method === 'HEAD' && response.body !== null ? new Response(null, response) : response;
  };
  const fetch = options.hooks.rawPath
    ? app.fetch
    : (request: Request, env?: unknown, executionCtx?: ExecutionContext): Response | Promise<Response> => {
        const path = pathOf(request.url);
        return path.startsWith(SERVICE_PREFIX) ? proxied(request, path, env, executionCtx) : app.fetch(request, env, executionCtx);
      };
  return { ...core, app, admin: options.adminApart ? adminApp : undefined, fetch, close: core.close };
}

/** The answer to a request the gateway failed on (a bug): logged through `onError`, told to the client without detail. */
function failed(options: GatewayOptions, error: unknown): Response {
  options.onError?.(error);
  return errorResponse('INTERNAL', 'the gateway failed on this request');
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
  app.onError((error) => failed(options, error));
  return app;
}
