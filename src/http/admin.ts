import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import type { Balancer } from '../balance/index.js';
import { leaseIdHex, RelayError, type RelaySource, type Resolver, type SnapshotSource } from '../discovery/index.js';
import { EtcdError, failureReason, within, type EtcdClient } from '../etcd/index.js';
import { isServiceName } from '../registry/index.js';
import { errorResponse, type GatewayMetrics, type RecentTraffic, type RoutableCache } from '../gateway/index.js';
import { dashboardRoutes, type DashboardDeps } from './dashboard/routes.js';
import { hasSession } from './dashboard/session.js';
import type { RuntimeHooks } from './hooks.js';
import { sameToken } from './token.js';

export interface AdminDeps {
  token: string;
  resolver: Resolver;
  balancer: Balancer;
  routable: RoutableCache;
  /** Probed by `/health`; undefined when a relay is read instead. */
  etcd: EtcdClient | undefined;
  /** The snapshot relay read instead of etcd: `/health` reports it in etcd's place. */
  relay: RelaySource | undefined;
  /** A source read in front of etcd or the relay (the Workers snapshot hub): `/health` shows its state. */
  front?: SnapshotSource | undefined;
  /** Where the etcd probe reads (one key at most). */
  probeKey: string;
  /** The last minutes of requests per service, drawn by the dashboard. */
  traffic: RecentTraffic;
  /** Served as `/_edge/metrics` when given (Node). */
  metrics: GatewayMetrics | undefined;
  /** More Prometheus text for `/_edge/metrics`: the runtime's process figures. */
  runtimeMetrics?: () => string;
  now: () => number;
  /** The runtime's `waitUntil` keeps a read a view starts alive past its response: lookups may be sharing it. */
  hooks: Pick<RuntimeHooks, 'waitUntil'>;
}

const PROBE_TIMEOUT_MS = 2_000;
/** Asked for when the gateway holds no service yet: any valid name does. */
const RELAY_PROBE_SERVICE = 'etcd-edge-health';

/**
 * `/_edge/`: the dashboard. It asks for its own sign-in (a form, then a
 * cookie), and is mounted at `/_edge/` itself: the cookie's path.
 */
export function adminDashboard(deps: AdminDeps): Hono {
  return dashboardRoutes({
    token: deps.token,
    resolver: deps.resolver,
    balancer: deps.balancer,
    routable: deps.routable,
    traffic: deps.traffic,
    source: deps.front ? 'hub' : deps.relay ? 'relay' : 'etcd',
    health: () => health(deps) as ReturnType<DashboardDeps['health']>,
    bearer: (c) => authorized(c, deps.token),
    now: deps.now,
  });
}

/** `/_edge/*`: health, one service's view, metrics; every route needs the bearer token. */
export function adminRoutes(deps: AdminDeps): Hono {
  const admin = new Hono();
  admin.use('*', async (c, next) => {
    if (!authorized(c, deps.token) && !(await hasSession(c, deps.token))) return errorResponse('UNAUTHORIZED', 'a valid bearer token is required', { headers: { 'www-authenticate': 'Bearer' } });
    await next();
  });
  admin.get('/health', async (c) => c.json(await health(deps), 200, { 'cache-control': 'no-store' }));
  admin.get('/services/:service', async (c) => {
    const service = c.req.param('service');
    if (!isServiceName(service)) return errorResponse('BAD_REQUEST', 'not a valid service name');
    const view = await serviceView(deps, service, deps.hooks.waitUntil?.(c));
    return view ? c.json(view, 200, { 'cache-control': 'no-store' }) : errorResponse('NOT_FOUND', 'nothing is known about this service', { service });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    admin.get('/metrics', (c) =>
      c.body(metrics.render(deps.resolver.stats, deps.resolver.watchCount) + (deps.runtimeMetrics?.() ?? ''), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
    );
  }
  admin.all('*', () => errorResponse('NOT_FOUND', 'no such admin route'));
  return admin;
}

/**
 * The bearer check of every admin route. Not `hono/bearer-auth`: that answers
 * a malformed header with 400 and a text body, and fails by throwing an
 * `HTTPException` that the gateway's error handler would turn into a 500;
 * admin failures are the gateway's JSON errors like every other. Both compare
 * in constant time.
 */
function authorized(c: Context, token: string): boolean {
  const header = c.req.header('authorization') ?? '';
  return sameToken(/^bearer /i.test(header) ? header.slice(7).trim() : '', token);
}

async function health(deps: AdminDeps): Promise<object> {
  const source = deps.relay ? { relay: await relayHealth(deps, deps.relay) } : { etcd: await etcdHealth(deps, deps.etcd!) };
  const reachable = (source.relay ?? source.etcd)!.reachable;
  const front = deps.front?.health?.();
  const ok = reachable && front?.ok !== false;
  return { status: ok ? 'ok' : 'degraded', ...source, ...(front ? { [front.section]: front.fields } : {}), ...servicesHealth(deps) };
}

type Reachability = { reachable: boolean; latencyMs?: number; error?: string; reason?: string };

async function etcdHealth(deps: AdminDeps, client: EtcdClient): Promise<Reachability> {
  const started = deps.now();
  let etcd: Reachability;
  // A cluster without quorum holds reads rather than failing them: give up with a stable code.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new EtcdError('ETCD_TIMEOUT', `no answer within ${PROBE_TIMEOUT_MS} ms`, { retryable: true })), PROBE_TIMEOUT_MS);
  try {
    await client.range(deps.probeKey, { limit: 1, keysOnly: true, signal: deadline.signal });
    etcd = { reachable: true, latencyMs: deps.now() - started };
  } catch (error) {
    const reason = failureReason(error)?.text;
    etcd = { reachable: false, error: error instanceof EtcdError ? error.code : 'unreachable', ...(reason ? { reason } : {}) };
  } finally {
    clearTimeout(timer);
  }
  return etcd;
}

/**
 * Whether a relay answers this gateway: a conditional read of a service held
 * (a 304 costs the relay nothing), or of the probe name when none is.
 */
async function relayHealth(deps: AdminDeps, relay: RelaySource): Promise<Reachability & { urls: number; urlsDown: number }> {
  const started = deps.now();
  const held = deps.resolver.services().map((service) => deps.resolver.status(service)).find((status) => status !== undefined);
  let outcome: Reachability;
  try {
    await within(relay.read(held?.snapshot.service ?? RELAY_PROBE_SERVICE, held?.snapshot), PROBE_TIMEOUT_MS, () => new RelayError('RELAY_TIMEOUT', `no answer within ${PROBE_TIMEOUT_MS} ms`));
    outcome = { reachable: true, latencyMs: deps.now() - started };
  } catch (error) {
    const last = error instanceof RelayError && error.cause instanceof RelayError ? error.cause : error;
    outcome = { reachable: false, error: error instanceof RelayError ? error.code : 'unreachable', ...(last instanceof RelayError && last !== error ? { reason: last.code } : {}) };
  }
  return { ...outcome, urls: relay.urls.length, urlsDown: relay.downCount };
}

function servicesHealth(deps: AdminDeps): object {
  let empty = 0;
  const services = deps.resolver.services().flatMap((service) => {
    const status = deps.resolver.status(service);
    if (!status) return [];
    // Read after status(): a watched service is current as of the resolver's own clock read, which an earlier read here would precede (age -1).
    const now = deps.now();
    // Names asked for that have no instances (often made up) are counted, not listed.
    if (status.snapshot.instances.length === 0 && status.snapshot.skipped.length === 0) {
      empty++;
      return [];
    }
    return [{
      service,
      instances: status.snapshot.instances.length,
      revision: status.snapshot.revision,
      ageMs: now - status.currentAt,
      watched: status.watched,
      ...(status.watchDownSince === undefined ? {} : { watchDownForMs: now - status.watchDownSince }),
    }];
  });
  return { services, servicesWithoutInstances: empty, cache: deps.resolver.stats };
}

async function serviceView(deps: AdminDeps, service: string, waitUntil: ((promise: Promise<unknown>) => void) | undefined): Promise<object | undefined> {
  try {
    await deps.resolver.resolve(service, waitUntil ? { waitUntil } : {});
  } catch {
    // Show what is held, if anything, even when etcd cannot be read now.
  }
  const status = deps.resolver.status(service);
  if (!status) return undefined;
  const { snapshot } = status;
  const routable = deps.routable.of(snapshot.instances);
  const ejection = new Map(deps.balancer.state(routable.instances).map((s) => [s.key, s]));
  const now = deps.now();
  return {
    service,
    revision: snapshot.revision,
    ageMs: now - status.currentAt,
    watched: status.watched,
    instances: routable.instances.map((i) => ({
      id: i.id,
      url: i.url,
      weight: i.weight,
      tags: i.tags,
      layout: i.layout,
      key: i.key,
      ...(i.leaseId === undefined ? {} : { leaseId: leaseIdHex(i.leaseId) }),
      revision: i.revision,
      ...(ejection.has(i.key) ? { ejection: ejection.get(i.key) } : {}),
    })),
    skipped: [...snapshot.skipped, ...routable.denied],
  };
}
