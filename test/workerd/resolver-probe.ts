/**
 * A Worker that resolves services with the snapshot resolver inside workerd:
 * one Resolver per isolate and profile, background refreshes handed to
 * `ctx.waitUntil` unless `?detached=1` says to start them without it, as a
 * caller that forgets it would (workerd then cancels them with the response).
 */
import { EtcdClient, kitexLayout, nativeLayout, Resolver, type ResolverOptions } from '../../src/index.js';

interface Env {
  ETCD_ENDPOINTS: string;
}

/** The part of the Workers `ExecutionContext` used here. */
interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

/** `?profile=`: the resolver's timings. `short` goes past stale-while-revalidate within two seconds, with room for a slow machine on either side. */
const PROFILES: Record<string, Partial<ResolverOptions>> = {
  default: { cacheTtlMs: 300 },
  short: { cacheTtlMs: 100, staleWhileRevalidateMs: 1_500, refreshTimeoutMs: 3_000 },
};

const resolvers = new Map<string, Resolver>();
let ranges = 0;

function resolverFor(env: Env, profile: string): Resolver {
  let resolver = resolvers.get(profile);
  if (!resolver) {
    resolver = new Resolver({
      etcd: new EtcdClient({
        endpoints: env.ETCD_ENDPOINTS.split(','),
        fetch: (url, init) => {
          if (url.endsWith('/v3/kv/range')) ranges++;
          return fetch(url, init);
        },
      }),
      layouts: [nativeLayout(), kitexLayout()],
      ...PROFILES[profile],
    });
    resolvers.set(profile, resolver);
  }
  return resolver;
}

export default {
  async fetch(request: Request, env: Env, ctx: Context): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const service = params.get('service') ?? '';
    const profile = params.get('profile') ?? 'default';
    try {
      const resolver = resolverFor(env, profile);
      const snapshot = await resolver.resolve(service, params.get('detached') === '1' ? {} : { waitUntil: (p) => ctx.waitUntil(p) });
      return Response.json({ urls: snapshot.instances.map((i) => `${i.layout} ${i.url} ${i.weight}`), ranges, stats: resolver.stats });
    } catch (error) {
      return Response.json({ error: String(error), code: (error as { code?: string }).code }, { status: 500 });
    }
  },
};
