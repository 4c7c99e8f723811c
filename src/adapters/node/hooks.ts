import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { fieldsOfRaw, type RuntimeHooks } from '../../gateway/index.js';
import { writeDirect } from './direct-response.js';
import { pullStream } from './streams.js';

type NodeContext = Context<{ Bindings: HttpBindings }>;

/** What Node tells the gateway: the socket's peer and the request-target as received. */
export const nodeHooks: RuntimeHooks = {
  clientIp: (c) => (c as NodeContext).env?.incoming?.socket?.remoteAddress,
  // Read from the raw list: no `Headers` object for the request.
  requestFields: (c) => {
    const raw = (c as NodeContext).env?.incoming?.rawHeaders;
    return raw ? fieldsOfRaw(raw) : undefined;
  },
  requestBody: (c) => {
    const incoming = (c as NodeContext).env?.incoming;
    // Left to the server to drain or close if no attempt reads it.
    return incoming ? pullStream(incoming, () => undefined) : undefined;
  },
  rawPath: (c) => {
    const target = (c as NodeContext).env?.incoming?.url;
    if (target === undefined || !target.startsWith('/')) return undefined;
    const query = target.indexOf('?');
    return query === -1 ? target : target.slice(0, query);
  },
  respond: (c, upstream, headers, bodyless) => {
    const outgoing = (c as NodeContext).env?.outgoing;
    return outgoing && 'writeHead' in outgoing ? writeDirect(outgoing, upstream, headers, bodyless) : undefined;
  },
  rawQuery: (c) => {
    const target = (c as NodeContext).env?.incoming?.url;
    if (target === undefined || !target.startsWith('/')) return undefined;
    const query = target.indexOf('?');
    return query === -1 ? '' : target.slice(query);
  },
};
