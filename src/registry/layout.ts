import type { Field } from './fields.js';
import type { EncodedRecord, LayoutName, Registration } from './instance.js';

/** What a codec reads from a value, before the address is validated. */
export interface ValueFields {
  address: string;
  weight: number;
  tags: Readonly<Record<string, string>>;
  metadata: unknown;
}

/**
 * Where a layout keeps a service's instances in etcd, and how one value is
 * written and read. Each layout is a versioned codec: `version` changes only
 * with an incompatible change to what is stored.
 */
export interface KeyLayout {
  readonly name: LayoutName;
  readonly version: number;
  /** The prefix every service of the layout lives under, or undefined when there is none (one watch per service). */
  readonly root: string | undefined;
  /** The prefix holding one service's instances, ending in `/`. */
  servicePrefix(service: string): string;
  /** The service and id a key names, or undefined for a key that is not this layout's. */
  parseKey(key: string): { service: string; id: string } | undefined;
  /** Reads a parsed JSON value; a reason when it is not a live instance. */
  readValue(value: unknown): Field<ValueFields>;
  /** Encodes a registration. @throws {RegistryError} when the layout cannot express it */
  encode(registration: Registration): EncodedRecord;
}

/** Splits `{prefix}{service}/{id}`; the service is one segment, the id the (non-empty) rest. */
export function splitKey(key: string, prefix: string): { service: string; id: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const slash = key.indexOf('/', prefix.length);
  if (slash <= prefix.length || slash === key.length - 1) return undefined;
  return { service: key.slice(prefix.length, slash), id: key.slice(slash + 1) };
}

/**
 * Whether `layout` can hold `service` beside the other layouts in use. A
 * layout without a root (grpc-naming keys are `{service}/…`) cannot have a
 * service whose prefix covers another layout's root, such as `services` or
 * `kitex`: it would read that layout's whole tree as its own instances.
 */
export function servesService(layout: KeyLayout, service: string, layouts: readonly KeyLayout[]): boolean {
  const prefix = layout.servicePrefix(service);
  return layouts.every((other) => other === layout || other.root === undefined || !(other.root.startsWith(prefix) || prefix.startsWith(other.root)));
}
