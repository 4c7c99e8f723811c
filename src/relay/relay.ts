import { Hono, type Context } from 'hono';
import type { Resolver } from '../discovery/index.js';
import { EtcdError } from '../etcd/index.js';
import { errorResponse, EXPOSITION_TYPE } from '../gateway/index.js';
import { isServiceName, RegistryError } from '../registry/index.js';
import { EtcdProbe } from './health.js';
import { PollSlots, RateLimiter } from './limiter.js';
import { RelayMetrics, type RelayRoute, type RelayState } from './metrics.js';
import { DEFAULT_LIMITS, MAX_WAIT_MS, type RelayOptions } from './options.js';
import { bodyOf, Publications, type Published } from './published.js';
import { bearerAllowed } from './tokens.js';
import { Waiters } from './waiters.js';

interface Current {
  published: Published;
  ageMs: number;
  stale: boolean;
}

/**
 * The snapshot relay: `GET /v1/services/{name}` serves a service's decoded
 * snapshot from one resolver in watch mode, with `ETag` = revision,
 * `If-None-Match` → 304, and `?wait=` long-polls; `GET /health` says whether
 * etcd answers and `GET /metrics` counts in Prometheus text (both also under
 * `/v1/`, where `serve --relay` mounts the relay). Every route needs a bearer
 * token; every client is rate limited.
 *
 * @example
 * const relay = new SnapshotRelay({ resolver, etcd, probeKey: 'services/', tokens: ['s3cret'] });
 * serve({ fetch: relay.app.fetch });
 */
export class SnapshotRelay {
  readonly app = new Hono();
  readonly #resolver: Resolver;
  readonly #options: RelayOptions;
  readonly #now: () => number;
  readonly #publications: Publications;
  readonly #waiters: Waiters;
  readonly #limiter: RateLimiter;
  readonly #slots: PollSlots;
  readonly #probe: EtcdProbe;
  readonly #metrics = new RelayMetrics();
  #released = false;

  constructor(options: RelayOptions) {
    if (options.tokens.length === 0 || options.tokens.some((t) => t === '')) throw new RangeError('the relay needs at least one token, none empty');
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#options = options;
    this.#resolver = options.resolver;
    this.#now = options.now ?? Date.now;
    this.#publications = new Publications(10_000);
    this.#limiter = new RateLimiter(limits);
    this.#slots = new PollSlots(limits.maxWaitsPerClient, limits.maxWaits);
    this.#probe = new EtcdProbe(options.etcd, options.probeKey, this.#now);
    this.#waiters = new Waiters({ pollMs: options.pollMs ?? 100, check: async (service) => (await this.#current(service)).published.revision });
    this.#routes();
  }

  /** Long-polls held now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Answers every held long-poll now (304), as on shutdown; later requests are answered at once, never held. */
  release(): void {
    this.#released = true;
    this.#waiters.close();
  }

  #routes(): void {
    this.app.use('*', async (c, next) => {
      await next();
      this.#metrics.request(routeOf(c.req.path), c.res.status);
    });
    this.app.use('*', async (c, next) => {
      const retryAfter = this.#limiter.take(this.#options.clientAddress?.(c) ?? '', this.#now());
      if (retryAfter > 0) {
        this.#metrics.rateLimited('rate');
        return errorResponse('RATE_LIMITED', 'too many requests from this client', { retryAfter });
      }
      if (!bearerAllowed(c.req.header('authorization'), this.#options.tokens)) {
        return errorResponse('UNAUTHORIZED', 'a valid bearer token is required', { headers: { 'www-authenticate': 'Bearer' } });
      }
      await next();
    });
    this.app.get('/v1/services/:service', (c) => this.#service(c));
    for (const at of ['', '/v1']) {
      this.app.get(`${at}/health`, async (c) => c.json(await this.#health(), 200, { 'cache-control': 'no-store' }));
      this.app.get(`${at}/metrics`, async (c) => c.body(this.#metrics.render(await this.#state()) + (this.#options.runtimeMetrics?.() ?? ''), 200, { 'content-type': EXPOSITION_TYPE, 'cache-control': 'no-store' }));
    }
    this.app.all('*', () => errorResponse('NOT_FOUND', 'no such relay route'));
    this.app.onError(() => errorResponse('INTERNAL', 'the relay failed to answer'));
  }

  async #service(c: Context): Promise<Response> {
    const service = c.req.param('service') ?? '';
    if (!isServiceName(service)) return errorResponse('BAD_REQUEST', 'not a valid service name');
    const wait = waitOf(c.req.query('wait'));
    if (wait === undefined) return errorResponse('BAD_REQUEST', `wait must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}`, { service });
    const held = revisionsOf(c.req.header('if-none-match'));
    let current = await this.#answerable(service);
    if (current instanceof Response) return current;
    if (held.has(current.published.revision) && wait > 0 && !this.#released) {
      const release = this.#slots.acquire(this.#options.clientAddress?.(c) ?? '');
      if (!release) {
        this.#metrics.rateLimited('long_polls');
        return errorResponse('RATE_LIMITED', 'too many long-polls held by this client or in all', { service, retryAfter: 1 });
      }
      try {
        if (await this.#waiters.wait(service, current.published.revision, wait, c.req.raw.signal)) current = await this.#answerable(service);
      } finally {
        release();
      }
      if (current instanceof Response) return current;
    }
    const etag = `"${current.published.revision}"`;
    // A 304 has no body: a stale relay says how old its snapshot is in a header, so a gateway holding it learns that too.
    const staleAge: Record<string, string> = current.stale ? { 'x-relay-stale-age': String(current.ageMs) } : {};
    if (held.has(current.published.revision)) return c.body(null, 304, { etag, 'cache-control': 'no-cache', ...staleAge });
    return c.body(bodyOf(current.published, current.ageMs, current.stale), 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache', etag });
  }

  /** `#current`, or the error answer for a name no layout holds or an etcd that cannot be read. */
  async #answerable(service: string): Promise<Current | Response> {
    try {
      return await this.#current(service);
    } catch (error) {
      if (error instanceof RegistryError) return errorResponse('BAD_REQUEST', 'not a valid service name', { service });
      if (error instanceof EtcdError) return errorResponse('ETCD_UNAVAILABLE', 'the registry cannot be read now and nothing is held for this service', { service, retryAfter: 2 });
      throw error;
    }
  }

  async #current(service: string): Promise<Current> {
    const snapshot = await this.#resolver.resolveNow(service);
    const published = this.#publications.of(snapshot);
    const status = this.#resolver.status(service);
    const now = this.#now();
    const currentAt = status?.snapshot === snapshot ? status.currentAt : snapshot.fetchedAt;
    const ageMs = Math.max(0, now - currentAt);
    const stale = this.#isStale(status, ageMs);
    this.#waiters.notify(service, published.revision);
    return { published, ageMs, stale };
  }

  #isStale(status: ReturnType<Resolver['status']>, ageMs: number): boolean {
    return status?.watchDownSince !== undefined || (!status?.watched && ageMs > (this.#options.staleAfterMs ?? 3_000));
  }

  async #state(): Promise<RelayState> {
    let staleServices = 0;
    let oldest = 0;
    for (const service of this.#resolver.services()) {
      const status = this.#resolver.status(service);
      if (!status) continue;
      const ageMs = Math.max(0, this.#now() - status.currentAt);
      if (!this.#isStale(status, ageMs)) continue;
      staleServices++;
      oldest = Math.max(oldest, ageMs);
    }
    const etcd = await this.#probe.check();
    return { waiting: this.#waiters.size, services: this.#resolver.services().length, watches: this.#resolver.watchCount, etcd, staleServices, oldestStaleSeconds: oldest / 1000 };
  }

  async #health(): Promise<object> {
    const etcd = await this.#probe.check();
    return { status: etcd.reachable ? 'ok' : 'degraded', etcd, services: this.#resolver.services().length, watches: this.#resolver.watchCount, waiting: this.#waiters.size };
  }
}

/** The route a path is counted under; the service name stays out (hostile names must not grow the label set). */
function routeOf(path: string): RelayRoute {
  if (path.startsWith('/v1/services/')) return 'service';
  if (path === '/health' || path === '/v1/health') return 'health';
  if (path === '/metrics' || path === '/v1/metrics') return 'metrics';
  return 'other';
}

/** `?wait=` as ms (cut to the longest allowed); 0 when absent; undefined when not a whole number. */
function waitOf(value: string | undefined): number | undefined {
  if (value === undefined) return 0;
  return /^\d{1,16}$/.test(value) ? Math.min(Number(value), MAX_WAIT_MS) : undefined;
}

/** The revisions an `If-None-Match` names: `"1234"`, weak ones too, comma lists. */
function revisionsOf(header: string | undefined): Set<number> {
  const revisions = new Set<number>();
  if (header) for (const [, digits] of header.matchAll(/"(\d{1,16})"/g)) revisions.add(Number(digits));
  return revisions;
}
