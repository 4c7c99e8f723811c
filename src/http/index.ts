export { adminRoutes, type AdminDeps } from './admin.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { clientIpOf, type RuntimeHooks } from './hooks.js';
export { accessRecordOf, proxyRoute } from './proxy-route.js';
export { etcdEdge, executionContextOf, middlewareOf, type Edge, type EdgeOptions } from './embed.js';
