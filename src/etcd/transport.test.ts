import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { FakeEtcd } from '../testing/index.js';
import { EtcdClient } from './client.js';
import { compare, op } from './txn.js';
import { EndpointPool } from './endpoints.js';
import { EtcdError, EtcdProtocolError, EtcdUnavailableError } from './errors.js';
import type { FetchLike } from './transport.js';

const ENDPOINTS = ['http://etcd-0.fake:2379', 'http://etcd-1.fake:2379', 'http://etcd-2.fake:2379'];

/** A fetch over the fake that records which endpoint each request went to. */
function recording(fake: FakeEtcd): { fetch: FetchLike; hits: string[] } {
  const hits: string[] = [];
  return {
    hits,
    fetch: (url, init) => {
      hits.push(new URL(url).origin);
      return fake.fetch(url, init);
    },
  };
}

function cluster(options: ConstructorParameters<typeof FakeEtcd>[0] = {}) {
  const fake = new FakeEtcd({ endpoints: ENDPOINTS, ...options });
  const { fetch, hits } = recording(fake);
  return { fake, hits, client: (extra = {}) => new EtcdClient({ endpoints: ENDPOINTS, fetch, ...extra }) };
}

describe('endpoint failover', () => {
  it('moves past a down endpoint and sets it aside for later calls', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client();
    await etcd.put('k', 'v');
    const first = hits[0]!;
    fake.faults(first).down = true;
    hits.length = 0;
    await etcd.range('k');
    expect(hits[0]).toBe(first);
    expect(hits[1]).not.toBe(first);
    hits.length = 0;
    await etcd.range('k');
    await etcd.range('k');
    expect(hits).not.toContain(first);
  });

  it('fails over on 5xx and on an HTML page from a proxy, but not on an etcd 4xx', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client();
    await etcd.put('k', 'v');
    const current = hits[hits.length - 1]!;
    fake.faults(current).failNext = { status: 503, times: 1 };
    hits.length = 0;
    await etcd.range('k');
    expect(new Set(hits).size).toBe(2);
    const next = hits[1]!;
    fake.faults(next).failNext = { status: 502, times: 1, body: 'html' };
    hits.length = 0;
    await etcd.range('k');
    expect(hits).toHaveLength(2);
    hits.length = 0;
    const error = await etcd.put('k', 'v', { lease: '12345' }).catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_LEASE_NOT_FOUND');
    expect(hits).toHaveLength(1);
  });

  it('names how many endpoints were tried when all fail, and nothing secret', async () => {
    const { fake, client } = cluster({ auth: { users: { edge: 'hunter2-secret' } } });
    for (const url of ENDPOINTS) fake.faults(url).down = true;
    const error = await client({ username: 'edge', password: 'hunter2-secret' })
      .range('k')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect((error as EtcdUnavailableError).endpoints).toBe(3);
    expect((error as EtcdUnavailableError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/3 endpoint\(s\) tried/);
    expect(JSON.stringify(chain(error))).not.toContain('hunter2-secret');
  });

  it('times out a slow endpoint per attempt and moves on', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client({ timeoutMs: 100 });
    await etcd.put('k', 'v');
    const slow = hits[hits.length - 1]!;
    fake.faults(slow).delayMs = 2_000;
    const started = Date.now();
    const { kvs } = await etcd.range('k');
    expect(kvs).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('reports a timeout as the cause when a single endpoint never answers', async () => {
    const fake = new FakeEtcd();
    fake.faults().delayMs = 5_000;
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch, timeoutMs: 50 });
    const error = (await etcd.range('k').catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(error.code).toBe('ETCD_UNAVAILABLE');
    expect((error.cause as EtcdError).code).toBe('ETCD_TIMEOUT');
    expect(error.attempts).toBe(2);
  });

  it('rethrows the caller abort without trying other endpoints', async () => {
    const { fake, hits, client } = cluster();
    for (const url of ENDPOINTS) fake.faults(url).delayMs = 1_000;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('caller gave up')), 30);
    const error = await client().range('k', { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('caller gave up');
    expect(hits).toHaveLength(1);
  });

  it('starts at a random endpoint', () => {
    const starts = [0, 0.4, 0.9].map((r) => {
      const pool = new EndpointPool(ENDPOINTS, { cooldownMs: 1, random: () => r });
      let first = '';
      void pool.run(async (url) => {
        first ||= url;
      });
      return first;
    });
    expect(starts).toEqual(ENDPOINTS);
  });

  it('never echoes an endpoint URL, which may hold a password', () => {
    expect(() => new EtcdClient({ endpoints: ['http://edge:s3cr/t@10.0.0.1:2379 x'] })).toThrow(/invalid etcd endpoint URL/);
    expect(() => new EtcdClient({ endpoints: ['http://edge:s3cr/t@10.0.0.1:2379 x'] })).not.toThrow(/s3cr/);
  });

  it('refuses endpoint URLs with credentials without echoing them', () => {
    expect(() => new EtcdClient({ endpoints: ['http://user:s3cret@etcd:2379'] })).toThrow(/must not contain credentials/);
    expect(() => new EtcdClient({ endpoints: ['http://user:s3cret@etcd:2379'] })).not.toThrow(/s3cret/);
    expect(() => new EtcdClient({ endpoints: ['ftp://etcd'] })).toThrow(/http\(s\)/);
    expect(() => new EtcdClient({ endpoints: [] })).toThrow(/at least one/);
  });
});

describe('writes', () => {
  it('are not sent again after a failure that may have reached etcd', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client({ writeTimeoutMs: 100 });
    await etcd.put('k', 'v0');
    const current = hits[hits.length - 1]!;
    fake.faults(current).failNext = { status: 503, times: 1 };
    hits.length = 0;
    const answered = (await etcd.put('k', 'v1').catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(answered).toBeInstanceOf(EtcdUnavailableError);
    expect(answered.outcomeUnknown).toBe(true);
    expect(answered.message).toMatch(/may have been applied/);
    expect(hits).toHaveLength(1);

    const next = (await etcd.range('k'), hits[hits.length - 1]!);
    fake.faults(next).delayMs = 1_000;
    hits.length = 0;
    const slow = (await etcd.txn({ success: [op.put('k', 'v2')] }).catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(slow.outcomeUnknown).toBe(true);
    expect((slow.cause as EtcdError).code).toBe('ETCD_TIMEOUT');
    expect(hits).toHaveLength(1);
  });

  it('include lease revocation, while a read-only txn still fails over', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client();
    const { id } = await etcd.leaseGrant(30);
    const current = hits[hits.length - 1]!;
    fake.faults(current).failNext = { status: 503, times: 1 };
    hits.length = 0;
    const revoke = (await etcd.leaseRevoke(id).catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(revoke.outcomeUnknown).toBe(true);
    expect(hits).toHaveLength(1);

    const next = (await etcd.range('k'), hits[hits.length - 1]!);
    fake.faults(next).failNext = { status: 503, times: 1 };
    hits.length = 0;
    const read = await etcd.txn({ compare: [compare.version('k', '=', 0)], success: [op.range('k')] });
    expect(read.succeeded).toBe(true);
    expect(hits).toHaveLength(2);
  });

  it('move to another endpoint when the connection was refused', async () => {
    const { fake, hits, client } = cluster();
    const etcd = client();
    await etcd.leaseGrant(5);
    const current = hits[hits.length - 1]!;
    fake.faults(current).down = true;
    hits.length = 0;
    await etcd.put('k', 'v');
    expect(hits).toHaveLength(2);
    expect(hits[0]).toBe(current);
  });
});

describe('signals', () => {
  it('leave no listener on a long-lived caller signal', async () => {
    const fake = new FakeEtcd();
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch });
    const shutdown = new AbortController();
    for (let i = 0; i < 20; i++) await etcd.put(`k${i}`, 'v', { signal: shutdown.signal });
    await etcd.range({ prefix: 'k' }, { signal: shutdown.signal, pageSize: 3 });
    const start = (await etcd.put('w', '1')).header.revision;
    for await (const batch of etcd.watch('w', { startRevision: start, signal: shutdown.signal })) {
      expect(batch.events).toHaveLength(1);
      break;
    }
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('an aborted call stops waiting for a slow login', async () => {
    const fake = new FakeEtcd({ auth: { users: { edge: 'pw' } } });
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/auth/authenticate')) await new Promise((r) => setTimeout(r, 1_000));
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, username: 'edge', password: 'pw' });
    const started = Date.now();
    const error = await etcd.range('k', { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('auth', () => {
  const users = { edge: 'pw-7d1c' };

  it('runs one login for many concurrent calls, and one again after the tokens expire', async () => {
    const fake = new FakeEtcd({ auth: { users } });
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch, username: 'edge', password: users.edge });
    await Promise.all(Array.from({ length: 20 }, () => etcd.range('k')));
    expect(fake.auth!.logins).toBe(1);
    fake.auth!.expireTokens();
    await Promise.all(Array.from({ length: 20 }, () => etcd.range('k')));
    expect(fake.auth!.logins).toBe(2);
  });

  it('logs in again when etcd says the auth store revision is old', async () => {
    const fake = new FakeEtcd({ auth: { users } });
    let stale = 1;
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/v3/kv/range') && stale-- > 0) {
        const message = 'etcdserver: revision of auth store is old';
        return Response.json({ error: message, message, code: 3 }, { status: 400 });
      }
      return fake.fetch(url, init);
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, username: 'edge', password: users.edge });
    await etcd.range('k');
    expect(fake.auth!.logins).toBe(2);
  });

  it('waits the write deadline for a slow login and never sends it again to the same member (etcd still hashes the first copy)', async () => {
    const fake = new FakeEtcd({ auth: { users } });
    let logins = 0;
    const fetch: FetchLike = (url, init) => {
      if (!url.endsWith('/v3/auth/authenticate')) return fake.fetch(url, init);
      logins++;
      // A member busy hashing a storm of logins: nothing comes back before the deadline.
      return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
    };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, username: 'edge', password: users.edge, timeoutMs: 20, writeTimeoutMs: 120 });
    const started = Date.now();
    const error = await etcd.range('k').catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_UNAVAILABLE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(logins).toBe(1);
  });

  it('never puts the password in a message when etcd is down during login', async () => {
    const fake = new FakeEtcd({ auth: { users } });
    fake.faults().failNext = { status: 500, times: 10 };
    const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch, username: 'edge', password: users.edge });
    const error = await etcd.range('k').catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_UNAVAILABLE');
    expect(JSON.stringify(chain(error))).not.toContain(users.edge);
  });
});

describe('error bodies', () => {
  // Bodies recorded from etcd 3.4 (Debian) and in the 3.6 shape, which drops `error`.
  const recorded: [string, number, unknown, string][] = [
    ['3.4 lease not found', 404, { error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5 }, 'ETCD_NOT_FOUND'],
    ['3.6 lease not found', 404, { code: 5, message: 'etcdserver: requested lease not found' }, 'ETCD_NOT_FOUND'],
    ['3.4 compacted', 400, { error: 'etcdserver: mvcc: required revision has been compacted', message: 'etcdserver: mvcc: required revision has been compacted', code: 11 }, 'ETCD_REVISION_OUT_OF_RANGE'],
    ['3.6 permission denied', 403, { code: 7, message: 'etcdserver: permission denied' }, 'ETCD_PERMISSION_DENIED'],
    ['3.4 invalid token', 401, { error: 'etcdserver: invalid auth token', message: 'etcdserver: invalid auth token', code: 16 }, 'ETCD_UNAUTHENTICATED'],
    ['3.6 bad json', 400, { code: 3, message: 'invalid character' }, 'ETCD_INVALID_ARGUMENT'],
  ];

  for (const [name, status, body, code] of recorded) {
    it(`maps ${name} to ${code}`, async () => {
      const fetch: FetchLike = async () => Response.json(body, { status });
      const error = await new EtcdClient({ endpoints: ['http://etcd:2379'], fetch }).range('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdError);
      expect((error as EtcdError).code).toBe(code);
      expect((error as EtcdError).grpcCode).toBe((body as { code: number }).code);
      expect((error as EtcdError).status).toBe(status);
    });
  }

  it('the fake speaks the 3.6 shape when asked', async () => {
    const fake = new FakeEtcd({ version: '3.6' });
    const res = await fake.fetch(`${fake.endpoints[0]}/v3/lease/revoke`, { method: 'POST', body: '{"ID":"1"}' });
    expect(await res.json()).toEqual({ code: 5, message: 'etcdserver: requested lease not found' });
    const error = await new EtcdClient({ endpoints: fake.endpoints, fetch: fake.fetch }).leaseRevoke('1').catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_LEASE_NOT_FOUND');
  });

  it('an error line inside a 200 keepalive answer is typed, and a server-side one fails over', async () => {
    const answers = [
      '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}\n',
      '{"result":{"header":{"revision":"3"},"ID":"7","TTL":"9"}}\n',
    ];
    let n = 0;
    const fetch: FetchLike = async () => new Response(answers[n++]);
    const etcd = new EtcdClient({ endpoints: ['http://a:2379', 'http://b:2379'], fetch });
    expect((await etcd.leaseKeepAlive('7')).ttl).toBe(9);
    expect(n).toBe(2);
    const denied: FetchLike = async () => new Response('{"error":{"code":7,"message":"etcdserver: permission denied"}}\n');
    const error = await new EtcdClient({ endpoints: ['http://a:2379'], fetch: denied }).leaseKeepAlive('7').catch((e: unknown) => e);
    expect((error as EtcdError).code).toBe('ETCD_PERMISSION_DENIED');
  });

  it('a 200 that is not JSON, or JSON of the wrong shape, is a protocol error', async () => {
    for (const body of ['<html>ok</html>', '{"kvs":"not-a-list"}', '{"kvs":[{"key":"%%%"}]}', '{"count":"9007199254740993"}']) {
      const fetch: FetchLike = async () => new Response(body, { status: 200 });
      const error = await new EtcdClient({ endpoints: ['http://etcd:2379'], fetch }).range('k').catch((e: unknown) => e);
      const typed = error instanceof EtcdUnavailableError ? error.cause : error;
      expect(typed).toBeInstanceOf(EtcdProtocolError);
    }
  });
});

/** Every message, name and stack in an error's cause chain. */
function chain(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error; e instanceof Error && out.length < 30; e = e.cause) out.push(e.name, e.message, e.stack ?? '');
  return out;
}

describe('refused credentials', () => {
  it('are not sent again for a few seconds: callers get the same error at once, then one login is tried again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const fake = new FakeEtcd({ auth: { users: { edge: 'pw-right' } } });
      let logins = 0;
      const fetch: FetchLike = (url, init) => {
        if (url.endsWith('/v3/auth/authenticate')) logins++;
        return fake.fetch(url, init);
      };
      const etcd = new EtcdClient({ endpoints: fake.endpoints, fetch, username: 'edge', password: 'pw-wrong' });
      const errors = await Promise.all(Array.from({ length: 5 }, () => etcd.range('k').catch((e: unknown) => e)));
      errors.push(await etcd.range('k').catch((e: unknown) => e));
      expect(errors.map((e) => (e as EtcdError).code)).toEqual(Array(6).fill('ETCD_AUTH_FAILED'));
      expect(logins).toBe(1);
      vi.advanceTimersByTime(5_001);
      expect(((await etcd.range('k').catch((e: unknown) => e)) as EtcdError).code).toBe('ETCD_AUTH_FAILED');
      expect(logins).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
