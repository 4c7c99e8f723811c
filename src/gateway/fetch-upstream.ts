import { fieldsOf, headersOf, withoutFields } from './fields.js';
import { UpstreamError, type Upstream, type UpstreamReply, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * An upstream over `fetch` (Workers, Lambda). `fetch` does not say whether a
 * failed request reached the instance, so failures are `failed` unless the
 * error names a refused or unresolvable connection.
 */
export class FetchUpstream implements Upstream {
  readonly #fetch: FetchLike;
  readonly #decodes: boolean;

  /**
   * @param decodes the `fetch` decompresses bodies but keeps `Content-Encoding`
   *   (Node's): those headers are dropped so the body passed on matches them.
   *   Workers re-encode a passed-on body themselves and need no help.
   */
  constructor(fetchImpl: FetchLike = (input, init) => fetch(input, init), options: { decodes?: boolean } = {}) {
    this.#fetch = fetchImpl;
    this.#decodes = options.decodes ?? false;
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
          reply.answered(this.#answerOf(response));
        },
        (error: unknown) => reply.failed(new UpstreamError(classify(error), 'the instance did not answer', { cause: error })),
      )
      // Reading the answer failed (its fields): the attempt fails rather than leave a rejection nobody handles.
      .catch((error: unknown) => reply.failed(new UpstreamError('failed', 'the answer could not be read', { cause: error })));
  }

  #answerOf(response: Response): UpstreamResponse {
    let headers = fieldsOf(response.headers);
    if (this.#decodes && decodedByFetch(response.headers.get('content-encoding'))) {
      headers = withoutFields(headers, STALE_WHEN_DECODED);
    }
    return { status: response.status, headers, body: response.body };
  }
}

/** Fields that no longer describe a body `fetch` decoded. */
const STALE_WHEN_DECODED = new Set(['content-encoding', 'content-length']);

/** Codings Node's fetch undoes by itself (zstd, for one, it passes through as is). */
const DECODED = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

function decodedByFetch(encoding: string | null): boolean {
  if (!encoding) return false;
  return encoding.split(',').every((coding) => DECODED.has(coding.trim().toLowerCase()));
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
