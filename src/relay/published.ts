import type { Snapshot } from '../discovery/index.js';

/** A service's snapshot as the relay serves it: its revision and its lists already in JSON. */
export interface Published {
  readonly service: string;
  /** Changes exactly when `instances` or `skipped` change. */
  readonly revision: number;
  /** `"instances":[…],"skipped":[…]`, written once per snapshot. */
  readonly lists: string;
  /** The resolver's snapshot it was made from. */
  readonly source: Snapshot;
}

/**
 * Gives each service a revision that moves only when what it serves moves.
 * The resolver's revision may also move without a change to the service (a
 * resync after a lost watch reads at etcd's newest revision, a name nobody
 * registered is read again at each negative-cache expiry); a long-poll woken
 * by that would wake for nothing. A changed list takes the snapshot's
 * revision, and never one at or below what was served before.
 */
export class Publications {
  readonly #held = new Map<string, Published>();
  readonly #max: number;

  /** `max`: services remembered, the least recently published forgotten first. */
  constructor(max: number) {
    this.#max = max;
  }

  /** The publication of `snapshot`: the one held when it is the same snapshot or has the same lists. */
  of(snapshot: Snapshot): Published {
    const held = this.#held.get(snapshot.service);
    if (held?.source === snapshot) return held;
    const lists = `"instances":${JSON.stringify(snapshot.instances)},"skipped":${JSON.stringify(snapshot.skipped)}`;
    const revision = held === undefined ? snapshot.revision : held.lists === lists ? held.revision : Math.max(snapshot.revision, held.revision + 1);
    const published: Published = { service: snapshot.service, revision, lists, source: snapshot };
    this.#held.delete(snapshot.service);
    if (this.#held.size >= this.#max) this.#held.delete(this.#held.keys().next().value!);
    this.#held.set(snapshot.service, published);
    return published;
  }
}

/** The 200 body: `{"service","revision","instances","skipped","ageMs","stale"}`. */
export function bodyOf(published: Published, ageMs: number, stale: boolean): string {
  return `{"service":${JSON.stringify(published.service)},"revision":${published.revision},${published.lists},"ageMs":${ageMs},"stale":${stale}}`;
}
