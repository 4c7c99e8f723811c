import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { lazyBody } from './direct-response.js';
import { ADDRESS_DENIED, type LookupFunction } from './guarded-lookup.js';
import { pullStream } from './streams.js';
import { UpstreamError, type FieldList, type Upstream, type UpstreamFailure, type UpstreamRequest, type UpstreamResponse } from '../../gateway/index.js';

export interface UndiciUpstreamOptions {
  connectTimeoutMs: number;
  /** Responses with a Content-Length up to this are read whole before being passed on (faster than streaming small bodies). */
  bufferResponseBytes?: number;
  /** Connections kept per instance. */
  connectionsPerOrigin?: number;
  /** Resolves instance hostnames; `guardedLookup` applies the address policy to what they resolve to. */
  lookup?: LookupFunction;
}

/** Errors that mean no connection was made, so nothing was sent. */
const CONNECT_CODES = new Set([ADDRESS_DENIED, 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends requests with undici's pooled keep-alive connections (one pool per
 * instance), about three times cheaper than `fetch` in Node.
 */
export class UndiciUpstream implements Upstream {
  readonly #agent: Agent;
  readonly #bufferBytes: number;

  constructor(options: UndiciUpstreamOptions) {
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) },
      connections: options.connectionsPerOrigin ?? 256,
      // Streams such as server-sent events may idle for long; the client going away ends them.
      bodyTimeout: 0,
    });
    this.#bufferBytes = options.bufferResponseBytes ?? 64 * 1024;
  }

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#agent.request({
        origin: request.origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers as string[],
        body: toBody(request.body),
        signal: request.signal,
        headersTimeout: 0,
      });
    } catch (error) {
      throw new UpstreamError(classify(error), 'the instance did not answer', { cause: error });
    }
    request.onHeaders?.();
    const headers = fieldsOfUndici(response.headers);
    const length = Number(response.headers['content-length'] ?? NaN);
    if (length <= this.#bufferBytes) {
      try {
        return { status: response.statusCode, headers, body: new Uint8Array(await response.body.arrayBuffer()) };
      } catch (error) {
        throw new UpstreamError('failed', 'the instance broke off its answer', { cause: error });
      }
    }
    const body = response.body;
    return lazyBody(response.statusCode, headers, body, () => pullStream(body, () => body.destroy()));
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function classify(error: unknown): UpstreamFailure {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return 'connect';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  }
  return 'failed';
}

/** undici's parsed answer fields (names lower case, repeats as arrays) as a flat list. */
function fieldsOfUndici(parsed: Record<string, string | string[] | undefined>): FieldList {
  const fields: FieldList = [];
  for (const name in parsed) {
    const value = parsed[name];
    if (value === undefined) continue;
    if (typeof value === 'string') fields.push(name, value);
    else for (const v of value) fields.push(name, v);
  }
  return fields;
}

function toBody(body: UpstreamRequest['body']): Uint8Array | Readable | null {
  if (body === null || body instanceof Uint8Array) return body;
  return chunks(body) as unknown as Readable;
}

async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
