import { fieldsOf, headersOf } from './fields.js';
import { UpstreamError, type Upstream, type UpstreamReply, type UpstreamRequest } from './upstream.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * An upstream over `fetch` (Workers). `fetch` does not say whether a failed
 * request reached the instance, so failures are `failed` unless the error
 * names a refused or unresolvable connection. Workers keep an answer's
 * `Content-Encoding` true when they pass its body on (they re-encode it);
 * Node's `fetch` decodes bodies and keeps the field, so Node and Lambda use
 * undici's `dispatch` instead.
 */
export class FetchUpstream implements Upstream {
  readonly #fetch: FetchLike;

  constructor(fetchImpl: FetchLike = (input, init) => fetch(input, init)) {
    this.#fetch = fetchImpl;
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
