export { nodeEdge } from './embed.js';
export { nodeHooks } from './hooks.js';
export { nodeConfig, startNodeGateway, type NodeGateway, type NodeGatewayOptions, type NodeMount } from './server.js';
export { UndiciUpstream, type UndiciUpstreamOptions } from './undici-upstream.js';
export { nodeRelay, relayResolver, startNodeRelay, type NodeRelay, type NodeRelayOptions } from './relay-server.js';
export { etcdEdge, middlewareOf, type Edge, type EdgeOptions } from '../../http/index.js';
