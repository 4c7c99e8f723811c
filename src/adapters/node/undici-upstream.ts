import type { IncomingHttpHeaders } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { ADDRESS_DENIED, type LookupFunction } from './guarded-lookup.js';
import { pullStream } from './streams.js';
import { UpgradedSocket } from './websocket-relay.js';
import { UpstreamError, type FieldList, type Upstream, type UpstreamFailure, type UpstreamReply, type UpstreamRequest, type UpstreamResponse } from '../../gateway/index.js';

export interface UndiciUpstreamOptions {
  connectTimeoutMs: number;
  /** Responses with a Content-Length up to this are read whole before being passed on (faster than streaming small bodies). */
  bufferResponseBytes?: number;
  /** Connections kept per instance. */
  connectionsPerOrigin?: number;
  /** Resolves instance hostnames; `guardedLookup` applies the address policy to what they resolve to. */
  lookup?: LookupFunction;
  /** Hand over upgraded WebSocket connections (`Upstream.upgrade`): only where the runtime can relay a socket (Node's server, not Lambda). */
  webSockets?: boolean;
}

/** Errors that mean no connection was made, so nothing was sent. */
const CONNECT_CODES = new Set([ADDRESS_DENIED, 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends requests over undici's pooled keep-alive connections (one pool per
 * instance) through its `dispatch` API: no `AbortSignal`, and no stream at
 * all for a small answer, which is read into one buffer as it arrives.
 */
export class UndiciUpstream implements Upstream {
  readonly #agent: Agent;
  readonly #bufferBytes: number;
  readonly upgrade: Upstream['upgrade'];

  constructor(options: UndiciUpstreamOptions) {
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) },
      connections: options.connectionsPerOrigin ?? 256,
      // Streams such as server-sent events may idle for long; the client going away ends them.
      bodyTimeout: 0,
    });
    this.#bufferBytes = options.bufferResponseBytes ?? 64 * 1024;
    this.upgrade = options.webSockets ? (request, reply) => this.#upgrade(request, reply) : undefined;
  }

  send(request: UpstreamRequest, reply: UpstreamReply): void {
    const handler = new AttemptHandler(this.#bufferBytes, reply);
    this.#agent.dispatch(
      {
        origin: request.origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers as string[],
        body: toBody(request.body),
        headersTimeout: 0,
      },
      handler,
    );
    request.cancel.onCancel(handler);
  }

  /** A WebSocket handshake: undici writes `Upgrade`/`Connection` and hands over the socket on a 101 (`onRequestUpgrade`). */
  #upgrade(request: UpstreamRequest, reply: UpstreamReply): void {
    const handler = new AttemptHandler(this.#bufferBytes, reply);
    this.#agent.dispatch({ origin: request.origin, path: request.path, method: 'GET', headers: request.headers as string[], body: null, headersTimeout: 0, upgrade: 'websocket' }, handler);
    request.cancel.onCancel(handler);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/**
 * One attempt's answer as undici delivers it: replies to the attempt
 * (`LiveAttempt` in gateway/forward.ts) when the header arrives (a body to
 * stream) or when a small body has been read whole. undici may call it again
 * after that (an error after a cancel): `#settled` keeps the reply to the one
 * call `UpstreamReply` promises; whether the request is over is decided by
 * the request (gateway/proxy.ts), not here.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #bufferBytes: number;
  readonly #reply: UpstreamReply;
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #cancelled: unknown;
  #status = 0;
  #headers: FieldList = [];
  /** Set while a small body is read whole. */
  #chunks: Buffer[] | undefined;
  /** Set once a body is streamed to the caller. */
  #stream: Readable | undefined;

  constructor(bufferBytes: number, reply: UpstreamReply) {
    this.#bufferBytes = bufferBytes;
    this.#reply = reply;
  }

  /** The caller gave up (timeout, client gone): fail now, and stop undici when it has started. */
  cancel(reason: unknown): void {
    if (this.#settled) return;
    this.#cancelled = reason ?? true;
    this.#fail('failed', 'the attempt was cancelled', reason);
    this.#controller?.abort(new Error('attempt cancelled'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#cancelled !== undefined) controller.abort(new Error('attempt cancelled'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx answers are interim: the final one follows.
    if (statusCode < 200 || this.#settled) return;
    this.#reply.headersArrived();
    this.#status = statusCode;
    this.#headers = fieldsOfUndici(headers);
    const length = Number(headers['content-length'] ?? NaN);
    if (length <= this.#bufferBytes) {
      this.#chunks = [];
      return;
    }
    const stream = new Readable({ read: () => controller.resume() });
    this.#stream = stream;
    // Torn down by whoever reads it (client gone, answer dropped): stop reading from the instance too.
    stream.once('close', () => {
      if (!stream.readableEnded) controller.abort(new Error('answer dropped'));
    });
    this.#settle(streamedResponse(statusCode, this.#headers, stream));
  }

  /** An instance switched protocols: the socket, its early bytes already put back by undici, goes to the runtime's relay. */
  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (this.#settled) {
      socket.destroy();
      return;
    }
    this.#reply.headersArrived();
    this.#settle({ status: statusCode, headers: fieldsOfUndici(headers), body: null, native: new UpgradedSocket(socket) });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#chunks) this.#chunks.push(chunk);
    else if (this.#stream && !this.#stream.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#chunks) {
      const chunks = this.#chunks;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.#settle({ status: this.#status, headers: this.#headers, body });
    } else {
      this.#stream?.push(null);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.#settled) {
      this.#fail(this.#chunks ? 'failed' : classify(error), this.#chunks ? 'the instance broke off its answer' : 'the instance did not answer', error);
    } else if (this.#stream && !this.#stream.destroyed) {
      this.#stream.destroy(error);
    }
  }

  #settle(response: UpstreamResponse): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reply.answered(response);
  }

  #fail(failure: UpstreamFailure, message: string, cause: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reply.failed(new UpstreamError(failure, message, { cause }));
  }
}

/**
 * An answer whose body streams: undici's `Readable` as the response's
 * `native` body, which Node's side writes straight to the client; the Web
 * `body` is made only if someone asks for it (a retry discarding it, Hono's route).
 */
function streamedResponse(status: number, headers: FieldList, stream: Readable): UpstreamResponse {
  let web: ReadableStream<Uint8Array> | undefined;
  // Destroying an undici body emits 'error'; whoever tears it down has already decided.
  stream.on('error', ignore);
  return {
    status,
    headers,
    native: stream,
    get body() {
      return (web ??= pullStream(stream, () => stream.destroy()));
    },
  };
}

function ignore(): void {}

function classify(error: unknown): UpstreamFailure {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return 'connect';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  }
  return 'failed';
}

/** undici's parsed answer fields (names lower case, repeats as arrays) as a flat list. */
function fieldsOfUndici(parsed: IncomingHttpHeaders): FieldList {
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
