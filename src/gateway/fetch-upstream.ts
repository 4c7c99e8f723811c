import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * An upstream over `fetch` (Workers, Lambda). `fetch` does not say whether a
 * failed request reached the instance, so failures are `failed` unless the
 * error names a refused or unresolvable connection.
 */
export class FetchUpstream implements Upstream {
  readonly #fetch: FetchLike;

  constructor(fetchImpl: FetchLike = (input, init) => fetch(input, init)) {
    this.#fetch = fetchImpl;
  }

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers: request.headers,
      body: request.body as BodyInit | null,
      redirect: 'manual',
      signal: request.signal,
    };
    if (request.body instanceof ReadableStream) init.duplex = 'half';
    let response: Response;
    try {
      response = await this.#fetch(request.origin + request.path, init);
    } catch (error) {
      throw new UpstreamError(classify(error), 'the instance did not answer', { cause: error });
    }
    return { status: response.status, headers: response.headers, body: response.body };
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
