import type { Instance } from '../registry/index.js';

interface Held {
  revision: number;
  /** Raw JSON values: tests may put malformed instances here. */
  instances: unknown[];
  changed: Promise<void>;
  announce: () => void;
}

/**
 * A snapshot relay in memory, honoring the relay's wire contract: `GET
 * /v1/services/{name}` with a bearer token, `ETag` = revision, 304 for an
 * unchanged `If-None-Match`, and `?wait=` long-polls. `handle` serves it as a
 * fetch function or behind any HTTP server. Not the real relay (src/relay):
 * gateways are tested against this one until theirs is at hand, and against both after.
 *
 * @example
 * const relay = new FakeRelay({ token: 'secret' });
 * relay.set('orders', [instance]);
 * const source = new RelaySource({ urls: ['http://relay.test'], token: 'secret', fetch: relay.fetch });
 */
export class FakeRelay {
  /** The token accepted; change it to play a relay whose tokens were rotated. */
  token: string;
  /** Requests by status answered. */
  readonly answers = new Map<number, number>();
  /** Set to make every request fail at the network level. */
  down = false;
  /** Set to answer every request with this status and an error body. */
  failWith: number | undefined;
  /** Set to answer as a relay cut off from etcd: `stale: true` with this age, and on a 304 in `X-Relay-Stale-Age`. */
  staleAgeMs: number | undefined;
  readonly #services = new Map<string, Held>();
  #revision = 1;

  constructor(options: { token: string }) {
    this.token = options.token;
  }

  /** Replaces a service's instances, at a new revision (any JSON values: a test may send malformed ones). */
  set(service: string, instances: readonly (Instance | Record<string, unknown> | string)[]): number {
    const held = this.#held(service);
    held.revision = ++this.#revision;
    held.instances = [...instances];
    held.announce();
    this.#renew(held);
    return held.revision;
  }

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    if (this.down) throw new TypeError('fetch failed');
    return this.handle(new Request(input, init));
  };

  async handle(request: Request): Promise<Response> {
    const response = await this.#answer(request);
    this.answers.set(response.status, (this.answers.get(response.status) ?? 0) + 1);
    return response;
  }

  async #answer(request: Request): Promise<Response> {
    if (request.headers.get('authorization') !== `Bearer ${this.token}`) return failure(401, 'UNAUTHORIZED');
    if (this.failWith !== undefined) return failure(this.failWith, this.failWith === 429 ? 'RATE_LIMITED' : 'ETCD_UNAVAILABLE');
    const url = new URL(request.url);
    const match = /^\/v1\/services\/([^/]+)$/.exec(url.pathname);
    if (request.method !== 'GET' || !match) return failure(400, 'BAD_REQUEST');
    const service = decodeURIComponent(match[1]!);
    const held = this.#held(service);
    const etag = request.headers.get('if-none-match');
    const wait = Math.min(Number(url.searchParams.get('wait') ?? 0) || 0, 60_000);
    if (etag === `"${held.revision}"` && wait > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([held.changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)))]);
      clearTimeout(timer);
    }
    const stale = this.staleAgeMs === undefined ? {} : { 'x-relay-stale-age': String(this.staleAgeMs) };
    if (etag === `"${held.revision}"`) return new Response(null, { status: 304, headers: { etag: `"${held.revision}"`, ...stale } });
    const body = { service, revision: held.revision, instances: held.instances, skipped: [], ageMs: this.staleAgeMs ?? 0, stale: this.staleAgeMs !== undefined };
    return Response.json(body, { headers: { etag: `"${held.revision}"` } });
  }

  #held(service: string): Held {
    let held = this.#services.get(service);
    if (!held) {
      held = { revision: this.#revision, instances: [], changed: Promise.resolve(), announce: () => undefined };
      this.#renew(held);
      this.#services.set(service, held);
    }
    return held;
  }

  #renew(held: Held): void {
    held.changed = new Promise((resolve) => (held.announce = resolve));
  }
}

function failure(status: number, code: string): Response {
  const headers: Record<string, string> = status === 429 ? { 'retry-after': '1' } : {};
  return Response.json({ error: { code, message: code.toLowerCase().replace('_', ' ') } }, { status, headers });
}
