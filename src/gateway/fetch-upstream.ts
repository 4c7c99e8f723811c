import { fieldsOf, headersOf } from './fields.js';
import { UpstreamError, type Cancellable, type Upstream, type UpstreamReply, type UpstreamRequest } from './upstream.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What a Workers `WebSocket` offers that the gateway uses. */
interface WorkersWebSocket {
  accept(): void;
  close(code?: number, reason?: string): void;
}

/** The WebSocket a Worker's fetch handed over with an instance's 101 (`UpstreamResponse.native`), returned as the Worker's own `Response.webSocket`. */
export class FetchedWebSocket implements Cancellable {
  constructor(readonly webSocket: WorkersWebSocket) {}

  cancel(): void {
    try {
      this.webSocket.accept();
      this.webSocket.close(1001, 'not relayed');
    } catch {
      // Already closed.
    }
  }
}

/** Whether `fetch` hands over WebSockets (`Response.webSocket`): in workerd, which also has `WebSocketPair`. */
const FETCH_UPGRADES = typeof (globalThis as { WebSocketPair?: unknown }).WebSocketPair === 'function';

/**
 * An upstream over `fetch` (Workers). `fetch` does not say whether a failed
 * request reached the instance, so failures are `failed` unless the error
 * names a refused or unresolvable connection. Workers keep an answer's
 * `Content-Encoding` true when they pass its body on (they re-encode it);
 * Node's `fetch` decodes bodies and keeps the field, so Node and Lambda use
 * undici's `dispatch` instead. WebSocket handshakes (`upgrade`) are sent
 * where `fetch` hands the upgraded connection over (workerd, or when
 * `webSockets` says so); elsewhere there is no `upgrade` and the gateway answers 501.
 */
export class FetchUpstream implements Upstream {
  readonly #fetch: FetchLike;
  readonly upgrade: Upstream['upgrade'];

  constructor(fetchImpl: FetchLike = (input, init) => fetch(input, init), options: { webSockets?: boolean } = {}) {
    this.#fetch = fetchImpl;
    this.upgrade = (options.webSockets ?? FETCH_UPGRADES) ? (request, reply) => this.#upgrade(request, reply) : undefined;
  }

  send(request: UpstreamRequest, reply: UpstreamReply): void {
    // fetch refuses a body on GET and HEAD; Node's upstream passes one on.
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : request.body;
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers: headersOf(request.headers),
      body: body as BodyInit | null,
      redirect: 'manual',
      signal: request.cancel.toSignal(),
    };
    if (body instanceof ReadableStream) init.duplex = 'half';
    this.#fetch(request.origin + request.path, init)
      .then(
        (response) => {
          reply.headersArrived();
          reply.answered({ status: response.status, headers: fieldsOf(response.headers), body: response.body });
        },
        (error: unknown) => reply.failed(new UpstreamError(classify(error), 'the instance did not answer', { cause: error })),
      )
      // Reading the answer failed (its fields): the attempt fails rather than leave a rejection nobody handles.
      .catch((error: unknown) => reply.failed(new UpstreamError('failed', 'the answer could not be read', { cause: error })));
  }

  #upgrade(request: UpstreamRequest, reply: UpstreamReply): void {
    upgradeBy(this.#fetch, request, reply);
  }
}

/** A handshake by fetch with `Upgrade: websocket` (Workers); a 101 comes with the `webSocket` to return. */
function upgradeBy(fetchImpl: FetchLike, request: UpstreamRequest, reply: UpstreamReply): void {
  const headers = headersOf(request.headers);
  headers.set('upgrade', 'websocket');
  headers.set('connection', 'Upgrade');
  fetchImpl(request.origin + request.path, { method: 'GET', headers, redirect: 'manual', signal: request.cancel.toSignal() })
    .then(
      (response) => {
        reply.headersArrived();
        const { webSocket } = response as Response & { webSocket?: WorkersWebSocket | null };
        const native = response.status === 101 && webSocket ? new FetchedWebSocket(webSocket) : undefined;
        reply.answered({ status: response.status, headers: fieldsOf(response.headers), body: native ? null : response.body, ...(native ? { native } : {}) });
      },
      (error: unknown) => reply.failed(new UpstreamError(classify(error), 'the instance did not answer', { cause: error })),
    )
    .catch((error: unknown) => reply.failed(new UpstreamError('failed', 'the answer could not be read', { cause: error })));
}

function classify(error: unknown): 'connect' | 'failed' {
  const text = describe(error);
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|connection refused|UND_ERR_CONNECT/i.test(text) ? 'connect' : 'failed';
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error) parts.push(e.message, String((e as { code?: unknown }).code ?? ''));
  }
  return parts.join(' ');
}
