import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader, type OutgoingHttpHeaders } from 'node:http2';
import { ADDRESS_DENIED, type LookupFunction } from './guarded-lookup.js';
import { pullStream } from './streams.js';
import { TrailerFeed, UpstreamError, type Cancellable, type FieldList, type Upstream, type UpstreamFailure, type UpstreamReply, type UpstreamRequest, type UpstreamResponse } from '../../gateway/index.js';

export interface H2UpstreamOptions {
  connectTimeoutMs: number;
  /** Resolves instance hostnames; `guardedLookup` applies the address policy to what they resolve to. */
  lookup?: LookupFunction;
  /** A session to an instance that carried no stream for this long is closed. */
  idleSessionMs?: number;
}

/** Errors that mean no connection was made, so nothing was sent. */
const CONNECT_CODES = new Set([ADDRESS_DENIED, 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_CONNECT_TIMEOUT', 'ERR_SSL_WRONG_VERSION_NUMBER']);
/** gRPC's status and its words: in a trailers-only answer they come with the headers, and are passed on as trailers. */
const STATUS_FIELDS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

/**
 * Sends gRPC calls to instances over HTTP/2: one session per instance, every
 * call a stream on it (h2c for `http://` instances and bare `host:port`
 * registrations, TLS with ALPN `h2` for `https://`). Node's own `http2`,
 * since undici speaks HTTP/2 only after TLS negotiated it. A session that
 * fails, is told to go away or sits idle is dropped; the next call opens another.
 */
export class H2Upstream implements Upstream {
  readonly #options: H2UpstreamOptions;
  readonly #sessions = new Map<string, ClientHttp2Session>();

  constructor(options: H2UpstreamOptions) {
    this.#options = options;
  }

  send(request: UpstreamRequest, reply: UpstreamReply): void {
    new H2Attempt(this.#session(request.origin), request, reply).start();
  }

  async close(): Promise<void> {
    const closing = [...this.#sessions.values()].map((session) => new Promise<void>((resolve) => session.close(() => resolve())));
    this.#sessions.clear();
    await Promise.all(closing);
  }

  #session(origin: string): ClientHttp2Session {
    const held = this.#sessions.get(origin);
    if (held && !held.closed && !held.destroyed) return held;
    const { connectTimeoutMs, lookup, idleSessionMs = 60_000 } = this.#options;
    const session = connect(origin, { ...(lookup ? { lookup } : {}) });
    const forget = (): void => {
      if (this.#sessions.get(origin) === session) this.#sessions.delete(origin);
    };
    // A session's error reaches its streams too, where each attempt hears of it.
    session.on('error', forget).once('close', forget).once('goaway', forget);
    const timer = setTimeout(() => session.destroy(Object.assign(new Error('no HTTP/2 connection in time'), { code: 'ERR_CONNECT_TIMEOUT' })), connectTimeoutMs);
    session.once('connect', () => clearTimeout(timer)).once('close', () => clearTimeout(timer));
    session.setTimeout(idleSessionMs, () => session.close());
    this.#sessions.set(origin, session);
    return session;
  }
}

/**
 * One call on one session: the request's stream, its body sent once the
 * session is up (so a connect failure leaves a streamed body untouched for
 * another instance), and one reply to the attempt (`LiveAttempt`,
 * gateway/forward.ts): the answer when headers arrive, or why none came.
 */
class H2Attempt implements Cancellable {
  readonly #session: ClientHttp2Session;
  readonly #request: UpstreamRequest;
  readonly #reply: UpstreamReply;
  #stream: ClientHttp2Stream | undefined;
  #settled = false;

  constructor(session: ClientHttp2Session, request: UpstreamRequest, reply: UpstreamReply) {
    this.#session = session;
    this.#request = request;
    this.#reply = reply;
  }

  start(): void {
    const { body } = this.#request;
    let stream: ClientHttp2Stream;
    try {
      stream = this.#session.request(headersOf(this.#request), { endStream: body === null });
    } catch (error) {
      return this.#fail('connect', 'the instance could not be reached', error);
    }
    this.#stream = stream;
    // Errors after the answer reach whoever reads the body as a close without an end.
    stream.on('error', (error) => this.#fail(classify(error, stream), 'the instance did not answer', error));
    stream.once('close', () => this.#fail(classify(undefined, stream), 'the instance closed the call without an answer', undefined));
    stream.once('response', (headers, flags) => this.#answered(stream, headers, flags));
    this.#request.cancel.onCancel(this);
    if (body === null || this.#settled) return;
    if (this.#session.connecting) this.#session.once('connect', () => send(stream, body));
    else send(stream, body);
  }

  /** The attempt was given up (its timeout, the client gone): the instance is told to stop (RST_STREAM CANCEL). */
  cancel(reason: unknown): void {
    this.#fail('failed', 'the attempt was cancelled', reason);
    this.#stream?.close(constants.NGHTTP2_CANCEL);
  }

  #answered(stream: ClientHttp2Stream, headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reply.headersArrived();
    const status = Number(headers[':status']);
    const trailers = new TrailerFeed();
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
      // Trailers-only: the status came with the headers and nothing follows.
      const fields = fieldsOf(headers);
      const moved: FieldList = [];
      const kept: FieldList = [];
      for (let i = 0; i < fields.length; i += 2) (STATUS_FIELDS.has(fields[i]!) ? moved : kept).push(fields[i]!, fields[i + 1]!);
      trailers.arrived(moved);
      this.#reply.answered({ status, headers: kept, body: null, trailers });
      return;
    }
    stream.once('trailers', (fields: IncomingHttpHeaders) => trailers.arrived(fieldsOf(fields)));
    this.#reply.answered(streamedAnswer(status, fieldsOf(headers), stream, trailers));
  }

  #fail(failure: UpstreamFailure, message: string, cause: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reply.failed(new UpstreamError(failure, message, { cause }));
  }
}

/** The call's body to the stream, with backpressure; a body that fails (client gone, over its limit) cancels the call. */
async function send(stream: ClientHttp2Stream, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
  if (body instanceof Uint8Array) {
    stream.end(body);
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (stream.destroyed) return;
      if (done) break;
      if (!stream.write(value)) await drained(stream);
    }
    stream.end();
  } catch {
    stream.close(constants.NGHTTP2_CANCEL);
  } finally {
    reader.releaseLock();
  }
}

function drained(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done).off('close', done);
      resolve();
    };
    stream.once('drain', done).once('close', done);
  });
}

/**
 * An answer whose body streams: the HTTP/2 stream itself as `native`, which
 * Node's side writes on; the Web `body` is made only if someone asks for it.
 */
function streamedAnswer(status: number, headers: FieldList, stream: ClientHttp2Stream, trailers: TrailerFeed): UpstreamResponse {
  let web: ReadableStream<Uint8Array> | undefined;
  return {
    status,
    headers,
    native: stream,
    trailers,
    get body() {
      return (web ??= pullStream(stream, () => stream.close(constants.NGHTTP2_CANCEL)));
    },
  };
}

/** The request's fields for HTTP/2: `:authority` from the instance (never the client's Host), and `te: trailers`, which gRPC servers may require. */
function headersOf(request: UpstreamRequest): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':method': request.method, ':path': request.path };
  const { headers: fields } = request;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (name === 'host') continue;
    const value = fields[i + 1]!;
    const held = headers[name];
    headers[name] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [String(held), value];
  }
  headers.te = 'trailers';
  return headers;
}

/** Node's parsed HTTP/2 fields as a flat list, pseudo-headers left out. */
function fieldsOf(parsed: IncomingHttpHeaders): FieldList {
  const fields: FieldList = [];
  for (const name in parsed) {
    if (name.startsWith(':')) continue;
    const value = parsed[name];
    if (value === undefined) continue;
    if (typeof value === 'string') fields.push(name, value);
    else for (const v of value) fields.push(name, v);
  }
  return fields;
}

/** How a call failed before its answer: no connection (nothing sent), refused by the instance unprocessed, or broken. */
function classify(error: unknown, stream: ClientHttp2Stream): UpstreamFailure {
  // The instance refused the stream before processing it (RFC 9113 §8.7): as good as never sent.
  if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) return 'connect';
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return 'connect';
  }
  return 'failed';
}
