import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdUnavailableError, utf8, type FetchLike } from '../src/index.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { freePort } from './support/ports.js';
import { TcpProxy } from './support/tcp-proxy.js';

let etcd: EtcdCluster;
let proxies: TcpProxy[];

beforeAll(async () => {
  etcd = await startEtcd();
  const port = Number(new URL(etcd.endpoints[0]!).port);
  proxies = await Promise.all([0, 1].map(() => new TcpProxy({ host: '127.0.0.1', port }).listen()));
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await etcd?.close();
});

/** A fetch with its own connection pool that records where each request went. */
function recordingFetch(seen: string[]): FetchLike {
  const dispatcher = new Agent();
  return (url, init) => {
    seen.push(new URL(url).origin);
    return undiciFetch(url, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
  };
}

describe('write safety against a real etcd', () => {
  it('a write cut off after it reached etcd is applied once and reported as of unknown outcome', async () => {
    for (const p of proxies) p.cutResponses(true);
    const before = proxies.reduce((n, p) => n + p.accepted, 0);
    const client = new EtcdClient({ endpoints: proxies.map((p) => p.url), fetch: recordingFetch([]) });
    const error = (await client.put('safety/k', 'once').catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(error).toBeInstanceOf(EtcdUnavailableError);
    expect(error.outcomeUnknown).toBe(true);
    expect(proxies.reduce((n, p) => n + p.accepted, 0) - before).toBe(1);
    const direct = new EtcdClient({ endpoints: etcd.endpoints });
    const { kvs } = await direct.range('safety/k');
    expect(utf8(kvs[0]!.value)).toBe('once');
    expect(kvs[0]!.version).toBe(1);

    const read = (await client.range('safety/k').catch((e: unknown) => e)) as EtcdUnavailableError;
    expect(read.outcomeUnknown).toBe(false);
    expect(read.endpoints).toBe(2);
    for (const p of proxies) p.cutResponses(false);
  });

  it('a write whose connection was refused moves to the next endpoint', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    let refusedFirst = 0;
    for (let i = 0; i < 40 && refusedFirst < 3; i++) {
      const seen: string[] = [];
      const client = new EtcdClient({ endpoints: [closed, etcd.endpoints[0]!], fetch: recordingFetch(seen) });
      await client.put('safety/refused', String(i));
      if (seen[0] === closed) {
        refusedFirst += 1;
        expect(seen).toEqual([closed, etcd.endpoints[0]]);
      }
    }
    expect(refusedFirst).toBe(3);
  });
});
