import { loadConfig, SweptDeadlines } from '../../gateway/index.js';
import { etcdEdge, type Edge, type EdgeOptions } from '../../http/index.js';
import { instanceUpstream, lambdaDefaults, lambdaHooks } from './gateway.js';

/**
 * The gateway for a Hono app of one's own on Lambda: configured from
 * `process.env` unless `env` is given, instances reached as the shipped
 * handlers reach them (undici, the address policy checked on what a hostname
 * resolves to), the client's address and raw path taken from the event. Serve
 * the app with `hono/aws-lambda`'s `handle` (buffered) or `streamHandle`.
 * The shipped `handler` also holds answers to the event source's size limit;
 * an app of one's own answers as Hono's adapter does.
 *
 * @example
 * const edge = lambdaEdge();
 * const app = new Hono().use('/svc/*', jwt({ secret, alg: 'HS256' }), edge.middleware);
 * export const handler = handle(app);
 */
export function lambdaEdge(options: EdgeOptions = {}): Edge {
  const env = options.env ?? process.env;
  const configure = options.configure ?? ((loaded) => loaded);
  const config = options.config ?? configure(loadConfig(env, options.defaults ?? lambdaDefaults(env)));
  return etcdEdge({ deadlines: new SweptDeadlines(), ...options, config, upstream: options.upstream ?? instanceUpstream(config), hooks: { ...lambdaHooks, ...options.hooks } });
}
