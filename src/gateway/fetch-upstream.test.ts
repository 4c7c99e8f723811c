import { describe, expect, it } from 'vitest';
import { FetchUpstream } from './fetch-upstream.js';
import { fieldValue } from './fields.js';
import { AttemptCancel, sendAwaiting, UpstreamError, type Upstream, type UpstreamRequest } from './upstream.js';

const send = (upstream: Upstream, request: UpstreamRequest, onHeaders?: () => void) => sendAwaiting(upstream, request, onHeaders);
const request = (method = 'GET') => ({ origin: 'http://10.0.0.1:8080', path: '/x?y=1', method, headers: [] as string[], body: new Uint8Array([1, 2]), cancel: new AttemptCancel() });

function answering(headers: Record<string, string>) {
  const calls: [string, RequestInit][] = [];
  const upstream = (decodes: boolean) =>
    new FetchUpstream(
      async (input, init) => {
        calls.push([input, init]);
        return new Response('body', { headers });
      },
      { decodes },
    );
  return { calls, upstream };
}

describe('FetchUpstream', () => {
  it('drops Content-Encoding only for codings Node fetch decoded itself', async () => {
    for (const [encoding, dropped] of [['gzip', true], ['br', true], ['gzip, deflate', true], ['zstd', false], ['gzip, zstd', false]] as const) {
      const { upstream } = answering({ 'content-encoding': encoding, 'content-length': '4' });
      const response = await send(upstream(true), request());
      expect(response.headers.includes('content-encoding'), encoding).toBe(!dropped);
      expect(response.headers.includes('content-length'), encoding).toBe(!dropped);
    }
    // A runtime that re-encodes what it passes on (Workers) keeps them all.
    const { upstream } = answering({ 'content-encoding': 'gzip' });
    expect(fieldValue((await send(upstream(false), request())).headers, 'content-encoding')).toBe('gzip');
  });

  it('sends no body with GET or HEAD (fetch refuses one), and tells when headers arrived', async () => {
    const { calls, upstream } = answering({});
    let headersSeen = 0;
    await send(upstream(false), request('GET'), () => headersSeen++);
    await send(upstream(false), request('POST'));
    expect(calls.map(([url, init]) => [url, init.body ?? null])).toEqual([
      ['http://10.0.0.1:8080/x?y=1', null],
      ['http://10.0.0.1:8080/x?y=1', new Uint8Array([1, 2])],
    ]);
    expect(calls[0]![1].redirect).toBe('manual');
    expect(headersSeen).toBe(1);
  });

  it('calls a refused connection a connect failure and anything else a failure that may have sent the request', async () => {
    const failing = (error: Error) => new FetchUpstream(async () => Promise.reject(error));
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:8080'), { code: 'ECONNREFUSED' }) });
    await expect(send(failing(refused), request())).rejects.toMatchObject({ failure: 'connect' });
    const lost = new Error('Network connection lost.');
    const error = await send(failing(lost), request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ failure: 'failed' });
  });
});
