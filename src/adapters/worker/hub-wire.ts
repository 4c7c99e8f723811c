import type { Snapshot } from '../../discovery/index.js';

/**
 * The hub's answer to an isolate: the service's snapshot, or "unchanged" when
 * the isolate already holds its revision. The revision moves only when the
 * service's instance list (or skipped records) changes, not with every write
 * elsewhere in etcd, so an isolate's held snapshot is answered "unchanged".
 */
export type HubAnswer = { unchanged: true } | { unchanged: false; snapshot: Snapshot };

/** What an isolate calls on the hub's stub (Durable Object RPC). */
export interface HubStub {
  snapshot(service: string, heldRevision: number | undefined): Promise<HubAnswer>;
}

/** The `ETCD_EDGE_HUB` binding, as much of a Durable Object namespace as is used. */
export interface HubNamespace {
  idFromName(name: string): unknown;
  get(id: unknown, options?: { locationHint?: string }): HubStub;
}

/** The one hub every isolate asks, unless `ETCD_EDGE_HUB_LOCATION` names one per region. */
export const HUB_NAME = 'etcd-edge-snapshots';

/** The binding, when `env` has one that looks like a Durable Object namespace. */
export function hubBinding(env: Readonly<Record<string, unknown>>): HubNamespace | undefined {
  const binding = env.ETCD_EDGE_HUB;
  if (typeof binding !== 'object' || binding === null) return undefined;
  return 'idFromName' in binding && 'get' in binding ? (binding as HubNamespace) : undefined;
}
