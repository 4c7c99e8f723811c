import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/index.js';
import { etcdMtls, mtlsFetch } from './mtls.js';

/** A stand-in for an `[[mtls_certificates]]` binding: records what it was asked to fetch, and by whom. */
function recordingBinding(): { binding: { fetch: (input: string, init?: RequestInit) => Promise<Response> }; calls: { input: string; self: unknown }[] } {
  const calls: { input: string; self: unknown }[] = [];
  const binding = {
    fetch(this: unknown, input: string): Promise<Response> {
      calls.push({ input, self: this });
      return Promise.resolve(new Response('through the certificate'));
    },
  };
  return { binding, calls };
}

describe('mtlsFetch', () => {
  it('is undefined while the variable is unset or blank: the global fetch is used', () => {
    expect(mtlsFetch({}, 'ETCD_EDGE_ETCD_MTLS')).toBeUndefined();
    expect(mtlsFetch({ ETCD_EDGE_UPSTREAM_MTLS: '  ' }, 'ETCD_EDGE_UPSTREAM_MTLS')).toBeUndefined();
    expect(etcdMtls({})).toEqual({});
  });

  it("calls the named binding's fetch, with the binding as `this`", async () => {
    const { binding, calls } = recordingBinding();
    const fetch = mtlsFetch({ ETCD_EDGE_UPSTREAM_MTLS: 'INSTANCE_CERT', INSTANCE_CERT: binding }, 'ETCD_EDGE_UPSTREAM_MTLS')!;
    expect(await (await fetch('https://orders.internal.example.com/x', { method: 'GET' })).text()).toBe('through the certificate');
    expect(calls).toEqual([{ input: 'https://orders.internal.example.com/x', self: binding }]);
    const { etcdFetch } = etcdMtls({ ETCD_EDGE_ETCD_MTLS: ' INSTANCE_CERT ', INSTANCE_CERT: binding });
    await etcdFetch!('https://etcd.internal.example.com:2379/v3/kv/range', { method: 'POST' });
    expect(calls).toHaveLength(2);
  });

  it.each([
    ['a binding that is not there', { ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT' }],
    ['a plain variable', { ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT', ETCD_CERT: 'a string' }],
    ['a binding without fetch (a Durable Object namespace)', { ETCD_EDGE_ETCD_MTLS: 'ETCD_CERT', ETCD_CERT: { idFromName: () => 1, get: () => 2 } }],
  ])('names the variable when it names %s', (_, env) => {
    const error = catchError(() => mtlsFetch(env, 'ETCD_EDGE_ETCD_MTLS'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', variable: 'ETCD_EDGE_ETCD_MTLS' });
    expect((error as Error).message).toMatch(/^ETCD_EDGE_ETCD_MTLS: names "ETCD_CERT", which is not an mTLS certificate binding/);
  });

  it('refuses a value that cannot be a binding name', () => {
    const error = catchError(() => mtlsFetch({ ETCD_EDGE_UPSTREAM_MTLS: 'my cert' }, 'ETCD_EDGE_UPSTREAM_MTLS'));
    expect(error).toMatchObject({ variable: 'ETCD_EDGE_UPSTREAM_MTLS', message: expect.stringContaining('must name a binding') });
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
