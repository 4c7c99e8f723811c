import type { Context } from 'hono';
import {
  discardBody,
  errorResponse,
  fieldsOf,
  fieldValue,
  headersOf,
  proxyOutcome,
  responseOfError,
  signalLink,
  splitUrl,
  UNWATCHED_CLIENT,
  type AccessRecord,
  type FetchedWebSocket,
  type Inbound,
  type Outcome,
  type ProxyHandler,
  type UpstreamResponse,
} from '../gateway/index.js';
import { clientIpOf, type RuntimeHooks } from './hooks.js';

/** `ANY /svc/{service}/*` on Hono: the proxy between a Web `Request` and a Web `Response` (Workers, Lambda). */
export function proxyRoute(proxy: ProxyHandler, hooks: RuntimeHooks): (c: Context) => Promise<Response> {
  if (!hooks.logsAnswers) return async (c) => responseOf(await proxyOutcome(proxy, inboundOf(hooks, c)));
  return async (c) => {
    const outcome = await proxyOutcome(proxy, inboundOf(hooks, c));
    const { record } = outcome;
    if (!record) return responseOf(outcome);
    delete outcome.record;
    const response = responseOf(outcome);
    records.set(response, record);
    return response;
  };
}

/** Access log lines a runtime writes itself (`RuntimeHooks.logsAnswers`), by the response they describe. */
const records = new WeakMap<Response, AccessRecord>();

/** The access log line of a proxied answer, for a runtime that writes it once it knows what went out. */
export function accessRecordOf(response: Response): AccessRecord | undefined {
  return records.get(response);
}

function inboundOf(hooks: RuntimeHooks, c: Context): Inbound {
  const request = c.req.raw;
  // Each read of a runtime's `url`, `headers` or `signal` crosses into the runtime: once each.
  const { proto, host, path, query } = splitUrl(request.url);
  const fields = fieldsOf(request.headers);
  return {
    method: request.method,
    path: hooks.rawPath?.(c) ?? path,
    query,
    fields,
    ip: clientIpOf(hooks, c),
    proto,
    host,
    zone: hooks.zone?.(c),
    hasBody: request.body !== null,
    // Only a runtime whose upstream can hand over a WebSocket relays it (Workers' fetch); elsewhere the proxy answers 501.
    upgrade: fieldValue(fields, 'upgrade')?.trim().toLowerCase() === 'websocket',
    readBody: async () => new Uint8Array(await request.arrayBuffer()),
    streamBody: () => request.body,
    client: hooks.clientSignal === false ? UNWATCHED_CLIENT : signalLink(request.signal),
    waitUntil: hooks.waitUntil?.(c),
  };
}

function responseOf(outcome: Outcome): Response {
  const { record } = outcome;
  if (outcome.kind === 'error') {
    record?.sent(outcome.error.status, new TextEncoder().encode(outcome.error.body).byteLength);
    return responseOfError(outcome.error);
  }
  if (outcome.kind === 'gone') {
    record?.sent(499, 0, false);
    // Nobody reads it.
    return new Response(null, { status: 499 });
  }
  if (outcome.kind === 'upgraded') return upgradedResponse(outcome);
  const { response, headers, bodyless } = outcome;
  let init: ResponseInit;
  try {
    init = { status: response.status, headers: headersOf(headers) };
  } catch {
    discardBody(response.body);
    const refused = errorResponse('UPSTREAM_UNREACHABLE', 'the instance gave an answer that cannot be passed on');
    record?.sent(refused.status, 0);
    return refused;
  }
  if (bodyless) discardBody(response.body);
  const body = bodyless ? null : response.body;
  if (!record) return new Response(body as BodyInit | null, init);
  // A body of declared length passes untouched: wrapped in a stream of its own, the runtime would send it chunked, without its length.
  const declared = fieldValue(headers, 'content-length');
  if (body instanceof ReadableStream && declared !== undefined && /^\d+$/.test(declared)) {
    record.sent(response.status, Number(declared));
    return new Response(body as BodyInit, init);
  }
  return new Response(countedBody(body, (bytes, complete) => record.sent(response.status, bytes, complete)), init);
}

/**
 * An instance's 101 as a Worker returns it: the `webSocket` its fetch gave
 * (`FetchUpstream.upgrade`), which the Workers runtime then relays itself,
 * frames and close codes untouched both ways.
 */
function upgradedResponse(outcome: Extract<Outcome, { kind: 'upgraded' }>): Response {
  const { webSocket } = outcome.response.native as FetchedWebSocket;
  outcome.record?.sent(101, 0);
  return new Response(null, { status: 101, webSocket, headers: headersOf(outcome.headers) } as ResponseInit);
}

/** The body as sent, telling `done` how many bytes went out once it ends or is cancelled (for the access log). */
function countedBody(body: UpstreamResponse['body'], done: (bytes: number, complete: boolean) => void): BodyInit | null {
  if (body === null || body instanceof Uint8Array) {
    done(body?.byteLength ?? 0, true);
    return body as BodyInit | null;
  }
  let bytes = 0;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: ended, value } = await reader.read();
        if (ended) {
          done(bytes, true);
          return controller.close();
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (error) {
        done(bytes, false);
        controller.error(error);
      }
    },
    cancel(reason) {
      done(bytes, false);
      return reader.cancel(reason);
    },
  });
}
