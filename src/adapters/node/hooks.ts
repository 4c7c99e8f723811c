import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { RuntimeHooks } from '../../gateway/index.js';

type NodeContext = Context<{ Bindings: HttpBindings }>;

/**
 * What Node tells the Hono app (admin routes, and `/svc/` requests in
 * absolute form; `node-proxy.ts` serves the others): the socket's peer and
 * the request-target as received.
 */
export const nodeHooks: RuntimeHooks = {
  clientIp: (c) => (c as NodeContext).env?.incoming?.socket?.remoteAddress,
  rawPath: (c) => {
    const target = (c as NodeContext).env?.incoming?.url;
    if (target === undefined || !target.startsWith('/')) return undefined;
    const query = target.indexOf('?');
    return query === -1 ? target : target.slice(0, query);
  },
};
