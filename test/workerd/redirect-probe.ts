/**
 * A Worker that calls etcd through an endpoint answering 307, alone and ahead
 * of a real etcd: workerd's fetch must hand the redirect back, not follow it.
 */
import { EtcdClient, EtcdError } from '../../src/index.js';

interface Env {
  REDIRECTING: string;
  ETCD: string;
  USERNAME: string;
  PASSWORD: string;
}

function client(env: Env, endpoints: string[]): EtcdClient {
  // Start at the first endpoint, the redirecting one.
  const random = Math.random;
  Math.random = () => 0;
  try {
    return new EtcdClient({ endpoints, username: env.USERNAME, password: env.PASSWORD });
  } finally {
    Math.random = random;
  }
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const alone = await client(env, [env.REDIRECTING])
      .range('k')
      .catch((e: unknown) => e);
    const cause = alone instanceof Error ? alone.cause : undefined;
    const both = client(env, [env.REDIRECTING, env.ETCD]);
    await both.put('workerd/redirect', 'v');
    const { kvs } = await both.range('workerd/redirect');
    return Response.json({
      code: alone instanceof EtcdError ? alone.code : String(alone),
      cause: cause instanceof EtcdError ? { code: cause.code, status: cause.status, message: cause.message } : String(cause),
      served: kvs.length,
    });
  },
};
