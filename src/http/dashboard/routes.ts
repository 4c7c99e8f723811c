import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import type { Balancer } from '../../balance/index.js';
import type { Resolver, ServiceStatus } from '../../discovery/index.js';
import type { RecentTraffic, RoutableCache } from '../../gateway/index.js';
import { isServiceName } from '../../registry/index.js';
import { sameToken } from '../token.js';
import { endSession, hasSession, startSession } from './session.js';
import { loginPage, overviewView, page, serviceView, unknownService, type Overview, type ServiceDetail, type ServiceRow } from './views.js';

export interface DashboardDeps {
  token: string;
  resolver: Resolver;
  balancer: Balancer;
  routable: RoutableCache;
  traffic: RecentTraffic;
  /** Where snapshots come from, for the status line: 'etcd', 'relay' or 'hub'. */
  source: 'etcd' | 'relay' | 'hub';
  /** The admin health report (probes etcd or the relay); asked at most every 10 s. */
  health: () => Promise<{ status: string; etcd?: Reach; relay?: Reach }>;
  /** Whether a request carries the admin token as a bearer header. */
  bearer: (c: Context) => boolean;
  now: () => number;
}

type Reach = { reachable: boolean; latencyMs?: number; error?: string };

const HEALTH_EVERY_MS = 10_000;

/**
 * `GET /_edge/`: the dashboard, server-rendered and escaped (`hono/html`),
 * kept live by its script asking for the view again with its ETag. Signing in
 * puts a signed cookie scoped to `/_edge/`; the bearer header works as well.
 */
export function dashboardRoutes(deps: DashboardDeps): Hono {
  const app = new Hono();
  let health: { at: number; value: Promise<Overview['upstream']> } | undefined;
  const upstream = (): Promise<Overview['upstream']> => {
    if (!health || deps.now() - health.at > HEALTH_EVERY_MS) health = { at: deps.now(), value: deps.health().then(describe, () => ({ name: deps.source, ok: false, detail: 'unknown' })) };
    return health.value;
  };

  app.post('/login', async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : '';
    if (!sameToken(token, deps.token)) return c.html(loginPage(nonceOf(c), true), 401, secured(c));
    await startSession(c, deps.token);
    return c.redirect('/_edge/', 303);
  });
  app.post('/logout', (c) => {
    endSession(c);
    return c.redirect('/_edge/', 303);
  });
  app.get('/', async (c) => {
    const fragment = c.req.header('x-edge-fragment') === '1';
    if (!deps.bearer(c) && !(await hasSession(c, deps.token))) {
      return fragment ? c.body(null, 401) : c.html(loginPage(nonceOf(c), false), 200, secured(c));
    }
    const query = c.req.query('q') ?? '';
    const pageNumber = Math.max(0, Math.min(10_000, Number.parseInt(c.req.query('page') ?? '0', 10) || 0));
    const service = c.req.query('service');
    const body = service === undefined ? overviewView(await overview(deps, await upstream()), query, pageNumber) : detailView(deps, service, query, pageNumber);
    c.header('x-edge-now', String(deps.now()));
    if (fragment) {
      const text = String(await body);
      const etag = `"${hash(text)}"`;
      if (c.req.header('if-none-match') === etag) return c.body(null, 304, { etag, 'cache-control': 'no-store' });
      return c.html(text, 200, { etag, 'cache-control': 'no-store' });
    }
    const nonce = nonceOf(c);
    return c.html(page(service ?? 'Services', nonce, body), 200, secured(c, nonce));
  });
  return app;
}

function detailView(deps: DashboardDeps, service: string, query: string, pageNumber: number) {
  const status = isServiceName(service) ? deps.resolver.status(service) : undefined;
  if (!status) return unknownService(service);
  const routable = deps.routable.of(status.snapshot.instances);
  const ejection = new Map(deps.balancer.state(routable.instances).map((s) => [s.key, s]));
  const detail: ServiceDetail = {
    row: rowOf(deps, status, routable.instances.length, ejection, routable.denied.length),
    instances: routable.instances.map((instance) => ({ instance, ejection: ejection.get(instance.key) })),
    skipped: [...status.snapshot.skipped, ...routable.denied],
  };
  return serviceView(detail, query, pageNumber);
}

async function overview(deps: DashboardDeps, upstream: Overview['upstream']): Promise<Overview> {
  let empty = 0;
  const rows: ServiceRow[] = [];
  for (const service of deps.resolver.services().sort()) {
    const status = deps.resolver.status(service);
    if (!status) continue;
    if (status.snapshot.instances.length === 0 && status.snapshot.skipped.length === 0) {
      empty++;
      continue;
    }
    const routable = deps.routable.of(status.snapshot.instances);
    const ejection = new Map(deps.balancer.state(routable.instances).map((s) => [s.key, s]));
    rows.push(rowOf(deps, status, routable.instances.length, ejection, routable.denied.length));
  }
  return { source: deps.source, upstream, rows, empty };
}

function rowOf(deps: DashboardDeps, status: ServiceStatus, instances: number, ejection: Map<string, { ejectedUntil?: number }>, denied: number): ServiceRow {
  const { snapshot } = status;
  let ejected = 0;
  for (const state of ejection.values()) if (state.ejectedUntil !== undefined) ejected++;
  return {
    service: snapshot.service,
    instances,
    ejected,
    skipped: snapshot.skipped.length + denied,
    revision: snapshot.revision,
    currentAt: status.currentAt,
    source: `${deps.source} ${status.watched ? (deps.source === 'etcd' ? 'watch' : 'long-poll') : 'cache'}`,
    traffic: deps.traffic.series(snapshot.service, deps.now()),
  };
}

function describe(report: { status: string; etcd?: Reach; relay?: Reach }): Overview['upstream'] {
  const [name, reach] = report.relay ? ['relay', report.relay] : ['etcd', report.etcd];
  if (!reach) return { name: 'etcd', ok: false, detail: 'unknown' };
  return { name, ok: reach.reachable && report.status === 'ok', detail: reach.reachable ? `reachable (${reach.latencyMs ?? 0} ms)` : `unreachable (${reach.error ?? 'error'})` };
}

/** A CSP that lets only this response's own style and script run, and nothing load from elsewhere. */
function secured(c: Context, nonce = nonceOf(c)): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}

function nonceOf(c: Context): string {
  let nonce = c.get('edgeNonce' as never) as string | undefined;
  if (!nonce) {
    nonce = crypto.randomUUID().replace(/-/g, '');
    c.set('edgeNonce' as never, nonce as never);
  }
  return nonce;
}

/** FNV-1a of the rendered view: its ETag. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36) + text.length.toString(36);
}
