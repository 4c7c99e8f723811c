/**
 * A Worker that resolves services with the snapshot resolver inside workerd:
 * one Resolver per isolate, background refreshes handed to `ctx.waitUntil`.
 */
import { EtcdClient, kitexLayout, nativeLayout, Resolver } from '../../src/index.js';

interface Env {
  ETCD_ENDPOINTS: string;
}

/** The part of the Workers `ExecutionContext` used here. */
interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

let resolver: Resolver | undefined;
let ranges = 0;

function resolverFor(env: Env): Resolver {
  resolver ??= new Resolver({
    etcd: new EtcdClient({
      endpoints: env.ETCD_ENDPOINTS.split(','),
      fetch: (url, init) => {
        if (url.endsWith('/v3/kv/range')) ranges++;
        return fetch(url, init);
      },
    }),
    layouts: [nativeLayout(), kitexLayout()],
    cacheTtlMs: 300,
  });
  return resolver;
}

export default {
  async fetch(request: Request, env: Env, ctx: Context): Promise<Response> {
    const service = new URL(request.url).searchParams.get('service') ?? '';
    try {
      const snapshot = await resolverFor(env).resolve(service, { waitUntil: (p) => ctx.waitUntil(p) });
      return Response.json({ urls: snapshot.instances.map((i) => `${i.layout} ${i.url} ${i.weight}`), ranges });
    } catch (error) {
      return Response.json({ error: String(error), code: (error as { code?: string }).code }, { status: 500 });
    }
  },
};
