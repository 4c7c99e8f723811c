import { ENV_SCHEMA, errorResponse, FetchUpstream, loadConfig, type Env, type GatewayConfig, type RuntimeDefaults, type Upstream } from '../gateway/index.js';
import { createGateway, type Gateway, type GatewayOptions, type RuntimeHooks } from '../http/index.js';

/**
 * What a runtime adds to the gateway from its environment: a source in front
 * (the Workers hub), how etcd and the relay are reached (a Worker's mTLS
 * binding), how attempts' timeouts are kept (swept on Lambda, as on Node).
 * Throwing a `ConfigError` here is a configuration error like a bad variable.
 */
export type RuntimeOptions = Pick<GatewayOptions, 'source' | 'etcdFetch' | 'relayFetch' | 'deadlines'>;

/**
 * One gateway per isolate (Worker) or warm container (Lambda), built from the
 * environment on first use and kept, so its snapshots outlive a request.
 * A bad configuration is logged once, in full, and answered with a 500 that
 * names nothing: clients have no business learning the configuration.
 */
export class EnvGateway {
  readonly #defaults: (env: Env) => RuntimeDefaults;
  readonly #hooks: RuntimeHooks;
  readonly #upstream: (config: GatewayConfig, env: Env) => Upstream;
  readonly #extra: (env: Env, config: GatewayConfig) => RuntimeOptions;
  #built: { key: string; env: Env; gateway: Gateway } | undefined;
  #failed: { key: string; response: () => Response } | undefined;

  constructor(
    defaults: (env: Env) => RuntimeDefaults,
    hooks: RuntimeHooks,
    upstream: (config: GatewayConfig, env: Env) => Upstream = () => new FetchUpstream(),
    extra: (env: Env, config: GatewayConfig) => RuntimeOptions = () => ({}),
  ) {
    this.#defaults = defaults;
    this.#extra = extra;
    this.#hooks = hooks;
    this.#upstream = upstream;
  }

  /** The gateway for this environment, or a response saying the gateway is misconfigured. */
  for(env: Env): Gateway | Response {
    if (this.#built?.env === env) return this.#built.gateway;
    const key = fingerprint(env);
    if (this.#built?.key === key) {
      this.#built.env = env;
      return this.#built.gateway;
    }
    if (this.#failed?.key === key) return this.#failed.response();
    try {
      const config = loadConfig(env, this.#defaults(env));
      const extra = this.#extra(env, config);
      const gateway = createGateway({
        config,
        upstream: this.#upstream(config, env),
        hooks: this.#hooks,
        ...extra,
        onError: (error) => console.error('etcd-edge: request failed inside the gateway', error),
      });
      this.#built?.gateway.close().catch(() => undefined);
      this.#built = { key, env, gateway };
      return gateway;
    } catch (error) {
      console.error(`etcd-edge: configuration: ${error instanceof Error ? error.message : String(error)}`);
      const response = (): Response => errorResponse('INTERNAL', 'the gateway is misconfigured; its log says how');
      this.#failed = { key, response };
      return response();
    }
  }
}

/**
 * Variables that shape a gateway: the schema's, what runtimes read as
 * defaults, and the Worker's own (the mTLS binding names, read in
 * adapters/worker/mtls.ts), so a changed name builds a new gateway.
 */
const READ = [...Object.keys(ENV_SCHEMA.shape), 'AWS_REGION', 'ETCD_EDGE_ETCD_MTLS', 'ETCD_EDGE_UPSTREAM_MTLS'].sort();

/** The variables read, in a fixed order: a new `env` object with the same content reuses the gateway. */
function fingerprint(env: Env): string {
  let key = '';
  for (const name of READ) {
    const value = env[name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') key += `${name}\u0000${value}\u0000`;
  }
  return key;
}
