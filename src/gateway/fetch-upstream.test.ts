import { describe, expect, it } from 'vitest';
import { FetchUpstream } from './fetch-upstream.js';
import { fieldValue } from './fields.js';
import { AttemptCancel, sendAwaiting, UpstreamError, type Upstream, type UpstreamRequest } from './upstream.js';

const send = (upstream: Upstream, request: UpstreamRequest, onHeaders?: () => void) => sendAwaiting(upstream, request, onHeaders);
const request = (method = 'GET') => ({ origin: 'http://10.0.0.1:8080', path: '/x?y=1', method, headers: [] as string[], body: new Uint8Array([1, 2]), cancel: new AttemptCancel() });

function answering(headers: Record<string, string>) {
  const calls: [string, RequestInit][] = [];
  const upstream = () =>
    new FetchUpstream(async (input, init) => {
      calls.push([input, init]);
      return new Response('body', { headers });
    });
  return { calls, upstream };
}

describe('FetchUpstream', () => {
  it('passes Content-Encoding and Content-Length on as the instance sent them (Workers re-encode what they pass on)', async () => {
    const { upstream } = answering({ 'content-encoding': 'gzip', 'content-length': '4' });
    const { headers } = await send(upstream(), request());
    expect([fieldValue(headers, 'content-encoding'), fieldValue(headers, 'content-length')]).toEqual(['gzip', '4']);
  });

  it('sends no body with GET or HEAD (fetch refuses one), and tells when headers arrived', async () => {
    const { calls, upstream } = answering({});
    let headersSeen = 0;
    await send(upstream(), request('GET'), () => headersSeen++);
    await send(upstream(), request('POST'));
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
