export * from './etcd/index.js';
export * from './registry/index.js';
export * from './discovery/index.js';
export { ConfigError, FetchUpstream, loadConfig, type Env, type GatewayConfig, type RuntimeDefaults, type Upstream } from './gateway/index.js';
export { createGateway, etcdEdge, type Edge, type EdgeOptions, type Gateway, type GatewayOptions, type RuntimeHooks } from './http/index.js';
