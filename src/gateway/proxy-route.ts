import type { Context } from 'hono';
import { clientIpOf, type RuntimeHooks } from './client-side.js';
import { responseOfError, errorResponse } from './errors.js';
import { fieldsOf, headersOf } from './fields.js';
import { signalLink, type Inbound } from './inbound.js';
import { proxyOutcome, type Outcome, type ProxyHandler } from './proxy.js';
import { pathOf } from './target.js';
import { discardBody } from './upstream.js';

/** `ANY /svc/{service}/*` on Hono: the proxy between a Web `Request` and a Web `Response` (Workers, Lambda). */
export function proxyRoute(proxy: ProxyHandler, hooks: RuntimeHooks): (c: Context) => Promise<Response> {
  return async (c) => responseOf(await proxyOutcome(proxy, inboundOf(hooks, c)));
}

function inboundOf(hooks: RuntimeHooks, c: Context): Inbound {
  const request = c.req.raw;
  const url = new URL(request.url);
  return {
    method: request.method,
    path: hooks.rawPath?.(c) ?? pathOf(request.url),
    query: url.search,
    fields: fieldsOf(request.headers),
    ip: clientIpOf(hooks, c),
    proto: url.protocol.slice(0, -1),
    host: url.host,
    zone: hooks.zone?.(c),
    hasBody: request.body !== null,
    readBody: async () => new Uint8Array(await request.arrayBuffer()),
    streamBody: () => request.body,
    client: signalLink(request.signal),
    waitUntil: hooks.waitUntil?.(c),
  };
}

function responseOf(outcome: Outcome): Response {
  if (outcome.kind === 'error') return responseOfError(outcome.error);
  // Nobody reads it.
  if (outcome.kind === 'gone') return new Response(null, { status: 499 });
  const { response, headers, bodyless } = outcome;
  let init: ResponseInit;
  try {
    init = { status: response.status, headers: headersOf(headers) };
  } catch {
    discardBody(response.body);
    return errorResponse('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on');
  }
  if (bodyless) discardBody(response.body);
  return new Response(bodyless ? null : (response.body as BodyInit | null), init);
}
