import type { DurableObjectState } from 'cloudflare:workers';
import { SnapshotHub } from '../../src/adapters/worker/index.js';
import type { Env } from '../../src/gateway/index.js';

export { default } from '../../src/adapters/worker/index.js';

/**
 * A hub whose own etcd (`HUB_ETCD_ENDPOINTS`, a port nothing listens on) is
 * unreachable while the isolates' is not, as when the hub runs where etcd's
 * network does not reach: every call to it fails, so isolates fall back to
 * reading directly, or fail.
 */
export class UnreachableHub extends SnapshotHub {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, { ...env, ETCD_ENDPOINTS: env.HUB_ETCD_ENDPOINTS });
  }
}
