import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { pathOf } from '../../gateway/index.js';
import type { RuntimeHooks } from '../../http/index.js';

type NodeContext = Context<{ Bindings: HttpBindings }>;

/**
 * What Node tells the Hono app (admin routes, and `/svc/` requests in
 * absolute form; `node-proxy.ts` serves the others): the socket's peer and
 * the request-target as received.
 */
export const nodeHooks: RuntimeHooks = {
  clientIp: (c) => (c as NodeContext).env?.incoming?.socket?.remoteAddress,
  // Origin form (`/svc/…`) and absolute form (`http://host/svc/…`) get the same checks on the path as sent.
  rawPath: (c) => {
    const target = (c as NodeContext).env?.incoming?.url;
    return target === undefined || target === '*' ? undefined : pathOf(target);
  },
};
