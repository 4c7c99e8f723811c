import { FakeAuth, type FakeAuthOptions } from './fake-auth.js';
import { FakeBody } from './fake-body.js';
import { delay, FakeNetworkError, noFaults, type EndpointFaults } from './fake-faults.js';
import { FakeKv } from './fake-kv.js';
import { FakeLeaseApi } from './fake-lease-api.js';
import { FakeLeases } from './fake-leases.js';
import { FakeStore, FakeStoreError } from './fake-store.js';
import { FakeWatchHub } from './fake-watch.js';

export interface FakeEtcdOptions {
  /** The member URLs the fake answers on (default one: `http://etcd.fake:2379`). */
  endpoints?: string[];
  /** Enables auth with these users. */
  auth?: FakeAuthOptions;
  /** Error body shape: 3.4/3.5 `{error,code,message}` or 3.6 `{code,message}` (default 3.4). */
  version?: '3.4' | '3.5' | '3.6';
}

type Json = Record<string, unknown>;
type Route = (body: FakeBody, request: Request) => Json | Response;

const GRPC_HTTP_STATUS: Record<number, number> = { 3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 9: 412, 11: 400, 14: 503, 16: 401 };

/**
 * An in-memory etcd that speaks the JSON gateway: kv with revisions and
 * compaction, leases that expire and delete their keys, streaming watches,
 * optional auth, and per-endpoint faults. Use `fetch` as the client's fetch,
 * or `handlers` from `etcd-edge/testing/msw` to serve it through msw.
 *
 * @example
 * const etcd = new FakeEtcd();
 * const client = new EtcdClient({ endpoints: etcd.endpoints, fetch: etcd.fetch });
 */
export class FakeEtcd {
  readonly endpoints: string[];
  readonly store = new FakeStore();
  readonly auth: FakeAuth | undefined;
  readonly watches: FakeWatchHub;
  /** Requests received, by path (e.g. `/v3/kv/range`). */
  readonly calls = new Map<string, number>();
  #leases: FakeLeases;
  #kv: FakeKv;
  #routes: Record<string, Route>;
  #faults = new Map<string, EndpointFaults>();
  #version: string;

  constructor(options: FakeEtcdOptions = {}) {
    this.endpoints = (options.endpoints ?? ['http://etcd.fake:2379']).map((u) => new URL(u).origin);
    for (const url of this.endpoints) this.#faults.set(url, noFaults());
    this.auth = options.auth ? new FakeAuth(options.auth) : undefined;
    this.#version = options.version ?? '3.4';
    this.watches = new FakeWatchHub(this.store, (revision) => this.#header(revision));
    this.#leases = new FakeLeases((lease) => this.store.write(() => [...lease.keys].forEach((k) => this.store.delete(k, undefined))));
    this.#kv = new FakeKv(this.store, this.#leases);
    this.store.onCommit = (revision, events) => this.watches.publish(revision, events);
    this.#routes = this.#buildRoutes(new FakeLeaseApi(this.#leases, this.store));
  }

  /** A `fetch` that serves the fake's endpoints; other URLs fail like an unknown host. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    if (init?.signal) this.#callerSignals.set(request, init.signal);
    return this.handle(request);
  };

  /**
   * The caller's own signal for a request made through `fetch`. A `Request`'s
   * signal follows the one it was made with only while the `Request` lives
   * (undici holds it weakly): a watch stream outlives its `Request`, and its
   * caller's abort must still end it.
   */
  readonly #callerSignals = new WeakMap<Request, AbortSignal>();

  /** Answers one request; throws a `TypeError` where a real fetch would fail at the network level. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const faults = this.#faults.get(url.origin);
    if (!faults || faults.down) throw new FakeNetworkError(url.origin);
    // As fetch: a request whose signal is already aborted is never sent.
    if (request.signal.aborted) throw request.signal.reason;
    if (faults.delayMs > 0) await delay(faults.delayMs, request.signal);
    const failure = this.#injectedFailure(faults);
    if (failure) return failure;
    this.calls.set(url.pathname, (this.calls.get(url.pathname) ?? 0) + 1);
    return this.#route(url.pathname, request);
  }

  /** The fault knobs of one endpoint (default: the first). */
  faults(endpoint: string = this.endpoints[0]!): EndpointFaults {
    const faults = this.#faults.get(new URL(endpoint).origin);
    if (!faults) throw new Error(`not an endpoint of this fake: ${endpoint}`);
    return faults;
  }

  /** Current store revision. */
  get revision(): number {
    return this.store.revision;
  }

  /** Ends every open watch stream: with a network error, or after half a line. */
  breakWatchStreams(mode: 'error' | 'truncate' = 'error'): number {
    return this.watches.breakAll(mode);
  }

  /** Stops lease timers and closes watch streams. */
  close(): void {
    this.#leases.close();
    this.watches.closeAll();
  }

  async #route(path: string, request: Request): Promise<Response> {
    const route = this.#routes[path];
    if (!route || request.method !== 'POST') return new Response('Not Found\n', { status: 404 });
    try {
      const body = FakeBody.parse(await request.text());
      if (path !== '/v3/auth/authenticate' && path !== '/v3/lease/keepalive' && path !== '/v3/watch') this.#authorize(request);
      const answer = route(body, request);
      return answer instanceof Response ? answer : Response.json({ header: this.#header(), ...answer });
    } catch (error) {
      if (!(error instanceof FakeStoreError)) throw error;
      return this.#error(error.grpcCode, error.message);
    }
  }

  #buildRoutes(lease: FakeLeaseApi): Record<string, Route> {
    const routes: Record<string, Route> = {
      '/v3/kv/range': (b) => this.#kv.range(b),
      '/v3/kv/put': (b) => this.#kv.put(b),
      '/v3/kv/deleterange': (b) => this.#kv.deleteRange(b),
      '/v3/kv/txn': (b) => this.#kv.txn(b),
      '/v3/kv/compaction': (b) => this.#kv.compact(b),
      '/v3/lease/grant': (b) => lease.grant(b),
      '/v3/lease/revoke': (b) => lease.revoke(b),
      '/v3/lease/timetolive': (b) => lease.timeToLive(b),
      '/v3/lease/leases': () => lease.list(),
      '/v3/lease/keepalive': (b) => Response.json({ result: { header: this.#header(), ...lease.keepAlive(b) } }),
      '/v3/auth/authenticate': (b) => this.#authenticate(b),
      '/v3/watch': (b, request) => this.#watch(b, request),
    };
    // 3.4 also serves the lease calls under /v3/kv/lease/.
    for (const name of ['revoke', 'timetolive', 'leases']) routes[`/v3/kv/lease/${name}`] = routes[`/v3/lease/${name}`]!;
    return routes;
  }

  #authenticate(b: FakeBody): Json {
    if (!this.auth) throw new FakeStoreError(9, 'etcdserver: authentication is not enabled');
    const token = this.auth.authenticate(b.text('name'), b.text('password'));
    if (token === undefined) throw new FakeStoreError(3, 'etcdserver: authentication failed, invalid user ID or password');
    return { token };
  }

  #authorize(request: Request): void {
    const check = this.auth?.check(request.headers.get('authorization')) ?? 'ok';
    if (check === 'missing') throw new FakeStoreError(3, 'etcdserver: user name is empty');
    if (check === 'invalid') throw new FakeStoreError(16, 'etcdserver: invalid auth token');
  }

  #watch(b: FakeBody, request: Request): Response {
    const create = b.child('create_request') ?? b;
    const end = create.json.range_end === undefined ? undefined : create.bytes('range_end');
    const check = this.auth?.check(request.headers.get('authorization')) ?? 'ok';
    const refusal =
      check === 'ok'
        ? undefined
        : check === 'missing'
          ? 'rpc error: code = InvalidArgument desc = etcdserver: user name is empty'
          : 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token';
    const body = this.watches.open(
      {
        key: create.bytes('key'),
        end: end === '' ? undefined : end,
        startRevision: create.int('start_revision'),
        prevKv: create.flag('prev_kv'),
        progressNotify: create.flag('progress_notify'),
      },
      this.#callerSignals.get(request) ?? request.signal,
      refusal,
    );
    return new Response(body, { headers: { 'content-type': 'application/json' } });
  }

  #injectedFailure(faults: EndpointFaults): Response | undefined {
    const fail = faults.failNext;
    if (!fail || fail.times <= 0) return undefined;
    fail.times -= 1;
    if (fail.body === 'html') {
      return new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', { status: fail.status, headers: { 'content-type': 'text/html' } });
    }
    return this.#error(14, 'etcdserver: injected failure', fail.status);
  }

  #error(grpcCode: number, message: string, status = GRPC_HTTP_STATUS[grpcCode] ?? 500): Response {
    const body = this.#version === '3.6' ? { code: grpcCode, message } : { error: message, message, code: grpcCode };
    return Response.json(body, { status });
  }

  /** A response header; revision 0 is omitted, as the gateway omits zero values. */
  #header(revision = this.store.revision): Record<string, string> {
    const header: Record<string, string> = { cluster_id: '14841639068965178418', member_id: '10276657743932975437', raft_term: '2' };
    if (revision !== 0) header.revision = String(revision);
    return header;
  }
}
