import { AddressPolicy, loadConfig, SweptDeadlines } from '../../gateway/index.js';
import { etcdEdge, type Edge, type EdgeOptions } from '../../http/index.js';
import { guardedLookup } from './guarded-lookup.js';
import { nodeHooks } from './hooks.js';
import { processMetrics } from './process-metrics.js';
import { UndiciUpstream } from './undici-upstream.js';

/**
 * The gateway for a Hono app on Node (`@hono/node-server`): configured from
 * `process.env` unless `env` is given, watch mode on, instances reached over
 * undici's pooled connections with what a hostname resolves to checked
 * against the address policy, and the process figures in `/_edge/metrics`.
 * `etcd-edge serve` is the same gateway on a server of its own (faster: it
 * proxies without building a `Request` per request).
 *
 * @example
 * const edge = nodeEdge();
 * const app = new Hono().use('/svc/*', bearerAuth({ token }), edge.middleware);
 * serve({ fetch: app.fetch, port: 8787 });
 */
export function nodeEdge(options: EdgeOptions = {}): Edge {
  const defaults = options.defaults ?? { watch: true, ipLiterals: 'allow' as const, endpoints: 'http://127.0.0.1:2379' };
  const configure = options.configure ?? ((loaded) => loaded);
  const config = options.config ?? configure(loadConfig(options.env ?? process.env, defaults));
  const policy = new AddressPolicy(config.addresses);
  return etcdEdge({
    exposeMetrics: true,
    runtimeMetrics: processMetrics,
    deadlines: new SweptDeadlines(),
    ...options,
    config,
    upstream: options.upstream ?? new UndiciUpstream({ connectTimeoutMs: config.retry.connectTimeoutMs, lookup: guardedLookup((address) => policy.checkResolved(address)) }),
    hooks: { ...nodeHooks, ...options.hooks },
  });
}
