import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdUnavailableError, utf8, type FetchLike } from '../src/index.js';
import { cli } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { makeTestPki, type TestPki } from './support/test-ca.js';

let pki: TestPki;
let etcd: EtcdCluster;

beforeAll(async () => {
  pki = await makeTestPki();
  etcd = await startEtcd({ tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile } });
}, 60_000);

afterAll(async () => {
  await etcd?.close();
  await pki?.remove();
});

/** The documented seam: an undici Agent with CA, certificate and key, passed through `fetch`. */
function tlsFetch(ca: string, withClientCert = true): FetchLike {
  const dispatcher = new Agent({
    connect: {
      ca: readFileSync(ca),
      ...(withClientCert ? { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } : {}),
    },
  });
  return (url, init) => undiciFetch(url, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
}

describe('etcd over TLS with client certificates', () => {
  it('works with the CA, a client certificate and key given through fetch', async () => {
    const client = new EtcdClient({ endpoints: etcd.endpoints, fetch: tlsFetch(pki.caFile) });
    await client.put('tls/k', 'secure');
    expect(utf8((await client.range('tls/k')).kvs[0]!.value)).toBe('secure');
    const controller = new AbortController();
    const start = (await client.put('tls/k', 'watched')).header.revision;
    for await (const batch of client.watch('tls/k', { startRevision: start, signal: controller.signal })) {
      expect(utf8(batch.events[0]!.kv.value)).toBe('watched');
      controller.abort();
    }
  });

  it('fails with a clear typed error when the CA is wrong or the client certificate is missing', async () => {
    for (const fetch of [tlsFetch(pki.otherCaFile), tlsFetch(pki.caFile, false)]) {
      const error = await new EtcdClient({ endpoints: etcd.endpoints, fetch, timeoutMs: 2_000 }).range('tls/k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdUnavailableError);
      const causes: string[] = [];
      for (let e = (error as Error).cause; e instanceof Error; e = e.cause) causes.push(`${(e as { code?: string }).code ?? ''} ${e.message}`);
      expect(causes.join(' | ')).toMatch(/certificate|CERT|SSL|socket|alert/i);
    }
  });

  it('serves the etcd-edge command with --cacert, --cert and --key, and names a wrong CA in one line', () => {
    const tls = ['--etcd', etcd.endpoints[0]!, '--cert', pki.clientCert, '--key', pki.clientKey];
    const registered = cli(['ls', 'tls-svc', ...tls, '--cacert', pki.caFile]);
    expect(registered).toMatchObject({ code: 0, stdout: 'no instances\n' });
    const wrong = cli(['ls', 'tls-svc', ...tls, '--cacert', pki.otherCaFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^etcd-edge: cannot reach etcd at https:\/\/127\.0\.0\.1:\d+ \((etcd.s certificate is not signed by a trusted CA: check --cacert)\)\n$/);
    const missing = cli(['ls', 'tls-svc', ...tls, '--cacert', '/nonexistent/ca.pem']);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/^etcd-edge: --cacert: cannot read \/nonexistent\/ca.pem \(ENOENT\)\n/) });
  });
});
