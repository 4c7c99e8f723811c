import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEtcd } from '../testing/index.js';
import { EtcdClient } from './client.js';
import { EtcdRedirectError, EtcdUnavailableError, type EtcdError } from './errors.js';
import { failureReason } from './failure-reason.js';
import type { FetchLike } from './transport.js';

const MOVED = 'http://moved.fake:2379';
const REAL = 'http://etcd.fake:2379';
const PASSWORD = 'hunter2-secret';
const LOCATION = 'http://edge:pw-in-location@elsewhere.fake:2379/v3/auth/authenticate?token=t0k3n';

/** What the redirecting endpoint saw, and a fetch where it answers 307 and the others are the fake. */
function redirecting(fake: FakeEtcd, answer: () => Response = () => moved()) {
  const seen: { path: string; redirect: RequestRedirect | undefined }[] = [];
  const modes: (RequestRedirect | undefined)[] = [];
  const fetch: FetchLike = async (url, init) => {
    modes.push(init.redirect);
    if (!url.startsWith(MOVED)) return fake.fetch(url, init);
    seen.push({ path: new URL(url).pathname, redirect: init.redirect });
    return answer();
  };
  return { fetch, seen, modes };
}

function moved(): Response {
  return new Response('moved', { status: 307, headers: { location: LOCATION } });
}

/** What a browser-like fetch gives for a redirect with `redirect: 'manual'`: status 0, no headers, no body. */
function opaqueRedirect(): Response {
  const response = new Response(null, { status: 200 });
  Object.defineProperty(response, 'status', { value: 0 });
  Object.defineProperty(response, 'type', { value: 'opaqueredirect' });
  return response;
}

function chain(error: unknown): string {
  const out: string[] = [];
  for (let e = error; e instanceof Error && out.length < 30; e = e.cause) out.push(e.name, e.message, e.stack ?? '');
  return out.join('\n');
}

describe('an endpoint that redirects', () => {
  // Calls start at the first endpoint, so the redirecting one is always asked first.
  beforeEach(() => vi.spyOn(Math, 'random').mockReturnValue(0));
  afterEach(() => vi.restoreAllMocks());

  it('gets one request, never followed, and the next endpoint serves the call', async () => {
    const fake = new FakeEtcd({ endpoints: [REAL] });
    const { fetch, seen, modes } = redirecting(fake);
    const etcd = new EtcdClient({ endpoints: [MOVED, REAL], fetch });
    await etcd.put('k', 'v');
    expect(await etcd.range('k')).toMatchObject({ kvs: [{ value: new TextEncoder().encode('v') }] });
    expect(seen).toEqual([{ path: '/v3/kv/put', redirect: 'manual' }]);
    expect(modes.every((mode) => mode === 'manual')).toBe(true);
  });

  it('sends the login once, fails with a typed error naming no credential, and never reaches the target', async () => {
    const fake = new FakeEtcd({ endpoints: [REAL], auth: { users: { edge: PASSWORD } } });
    const { fetch, seen } = redirecting(fake);
    const error = await new EtcdClient({ endpoints: [MOVED], fetch, username: 'edge', password: PASSWORD })
      .range('k')
      .catch((e: unknown) => e);
    expect(seen.map((s) => s.path)).toEqual(['/v3/auth/authenticate']);
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    const cause = (error as EtcdUnavailableError).cause as EtcdRedirectError;
    expect(cause).toBeInstanceOf(EtcdRedirectError);
    expect(cause).toMatchObject({ code: 'ETCD_REDIRECT', status: 307, endpoint: MOVED, target: 'http://elsewhere.fake:2379' });
    expect(cause.message).toBe(
      `etcd endpoint ${MOVED} answered with a redirect (HTTP 307) to http://elsewhere.fake:2379, which is not followed: list the etcd members' own URLs`,
    );
    expect(chain(error)).not.toMatch(/hunter2|pw-in-location|t0k3n|\/v3\/auth/);
    expect(failureReason(error)?.text).toBe("an endpoint answered HTTP 307, a redirect, which the etcd client never follows; give etcd's own URL");
  });

  it('counts for any 3xx and for the opaque redirect of a browser-like fetch', async () => {
    for (const answer of [opaqueRedirect, () => new Response(null, { status: 301 }), () => new Response(null, { status: 308, headers: { location: '/x' } })]) {
      const fake = new FakeEtcd({ endpoints: [REAL] });
      const { fetch, seen } = redirecting(fake, answer);
      const error = await new EtcdClient({ endpoints: [MOVED], fetch }).range('k').catch((e: unknown) => e);
      expect(((error as EtcdUnavailableError).cause as EtcdError).code).toBe('ETCD_REDIRECT');
      expect(seen).toHaveLength(1);
    }
    const fake = new FakeEtcd({ endpoints: [REAL] });
    const error = await new EtcdClient({ endpoints: [MOVED], fetch: redirecting(fake, opaqueRedirect).fetch }).range('k').catch((e: unknown) => e);
    expect(((error as EtcdUnavailableError).cause as Error).message).toBe(
      `etcd endpoint ${MOVED} answered with a redirect, which is not followed: list the etcd members' own URLs`,
    );
    expect(failureReason(error)?.text).toMatch(/^an endpoint answered a redirect which/);
  });

  it('lets a write move on: etcd never redirects, so nothing was applied', async () => {
    const fake = new FakeEtcd({ endpoints: [REAL] });
    const { fetch, seen } = redirecting(fake);
    await new EtcdClient({ endpoints: [MOVED, REAL], fetch }).put('k', 'v');
    expect(seen).toHaveLength(1);
    expect(fake.store.range('k', undefined)).toHaveLength(1);
  });

  it('fails a watch stream at open the same way', async () => {
    const fake = new FakeEtcd({ endpoints: [REAL] });
    const { fetch, seen } = redirecting(fake);
    const stop = new AbortController();
    const retries: unknown[] = [];
    const onRetry = (error: unknown): void => {
      retries.push(error);
      stop.abort();
    };
    for await (const batch of new EtcdClient({ endpoints: [MOVED], fetch }).watch('k', { signal: stop.signal, onRetry })) expect(batch).toBeUndefined();
    expect(((retries[0] as EtcdUnavailableError).cause as EtcdError).code).toBe('ETCD_REDIRECT');
    expect(seen.map((s) => s.path)).toEqual(['/v3/watch']);
  });
});
