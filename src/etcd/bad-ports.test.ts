import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { FakeEtcd } from '../testing/index.js';
import { endpointPortProblem, refusedPort } from './bad-ports.js';
import { EtcdClient } from './client.js';
import { EtcdBadPortError, EtcdUnavailableError } from './errors.js';
import { failureReason } from './failure-reason.js';
import type { FetchLike } from './transport.js';

const require = createRequire(import.meta.url);

describe('refusedPort', () => {
  it("finds the Fetch standard's bad ports in http(s) URLs", () => {
    for (const port of [0, 1, 22, 6000, 6665, 4190, 6679, 10080]) expect(refusedPort(`http://127.0.0.1:${port}/v3/kv/range`)).toBe(port);
    expect(refusedPort('https://[::1]:6000')).toBe(6000);
  });

  it('leaves other ports, default ports and other URLs alone', () => {
    for (const url of ['http://127.0.0.1:2379', 'https://etcd:2380', 'http://etcd', 'https://etcd:443', 'http://etcd:80', 'ftp://x:21', 'not a url']) {
      expect(refusedPort(url)).toBeUndefined();
    }
  });

  it('says what to do, for config validation', () => {
    expect(endpointPortProblem(' http://127.0.0.1:6000 ')).toBe('fetch refuses to connect to port 6000, a "bad port" in the Fetch standard; use another port');
    expect(endpointPortProblem('http://127.0.0.1:2379')).toBeUndefined();
  });
});

describe('an endpoint on a bad port', () => {
  const fake = new FakeEtcd({ endpoints: ['http://etcd.fake:2379'] });
  const recording = () => {
    const asked: string[] = [];
    const fetch: FetchLike = (url, init) => {
      asked.push(new URL(url).port);
      return fake.fetch(url, init);
    };
    return { asked, fetch };
  };

  it('fails with the reason, without a request, and the other endpoints still serve', async () => {
    // The first call starts at the endpoint on the bad port.
    vi.spyOn(Math, 'random').mockReturnValueOnce(0);
    const { asked, fetch } = recording();
    const etcd = new EtcdClient({ endpoints: ['http://etcd.fake:6000', 'http://etcd.fake:2379'], fetch });
    for (let i = 0; i < 4; i++) await etcd.range('k');
    expect(asked).not.toContain('6000');
    expect(asked).toHaveLength(4);
  });

  it('alone, says why etcd cannot be reached, and a write is known not to be applied', async () => {
    const { asked, fetch } = recording();
    const etcd = new EtcdClient({ endpoints: ['http://127.0.0.1:6000'], fetch });
    for (const call of [() => etcd.range('k'), () => etcd.put('k', 'v')]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdUnavailableError);
      expect(error).toMatchObject({ attempts: 1, outcomeUnknown: false });
      expect((error as EtcdUnavailableError).cause).toBeInstanceOf(EtcdBadPortError);
      expect((error as EtcdUnavailableError).cause).toMatchObject({ code: 'ETCD_BAD_PORT', port: 6000 });
      expect(failureReason(error)).toEqual({
        text: 'fetch refuses to connect to port 6000, a "bad port" in the Fetch standard; use another port',
        about: 'network',
      });
    }
    expect(asked).toEqual([]);
  });

  it("is the list undici's fetch refuses (the standard's since 2024), plus port 0", () => {
    const undici = require('undici/lib/web/fetch/constants.js') as { badPorts: readonly string[] };
    const ours: number[] = [];
    for (let port = 0; port < 65_536; port++) if (refusedPort(`http://etcd:${port}`) !== undefined) ours.push(port);
    expect(ours).toEqual([0, ...undici.badPorts.map(Number)]);
  });
});
