import { workerEdge } from './embed.js';

export { workerEdge, type WorkerEdge, type WorkerEdgeOptions } from './embed.js';
export { SnapshotHub } from './hub.js';

/**
 * The Cloudflare Worker: configuration from `env` (vars and secrets), one
 * gateway per isolate, background refreshes through `ctx.waitUntil`.
 */
export default { fetch: workerEdge().fetch };
