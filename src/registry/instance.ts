/** The key layouts etcd-edge reads and writes. */
export type LayoutName = 'native' | 'grpc-naming' | 'kitex';

/** One live instance of a service, decoded from one etcd key. Immutable. */
export interface Instance {
  readonly service: string;
  /** Unique within the service and layout: the last part of the key. */
  readonly id: string;
  /** `http(s)://host:port`, without a trailing slash. */
  readonly url: string;
  /** Relative share of traffic; 0 means drained (registered, sent nothing new). */
  readonly weight: number;
  readonly tags: Readonly<Record<string, string>>;
  /** The value's metadata as written, without the weight and tags taken from it. */
  readonly metadata: unknown;
  readonly key: string;
  readonly layout: LayoutName;
  /** The lease keeping the key alive; absent for a key without one. */
  readonly leaseId?: string;
  /** The key's mod revision. */
  readonly revision: number;
}

/** A record that did not decode, with a reason that names its key. */
export interface SkippedRecord {
  readonly key: string;
  readonly layout: LayoutName;
  readonly reason: string;
}

export type Decoded = { ok: true; instance: Instance } | { ok: false; skipped: SkippedRecord };

/** What a service asks to be registered as; encoded by a layout into one key and value. */
export interface Registration {
  service: string;
  /** `http(s)://host:port`, `host:port` or `[v6]:port`. */
  url: string;
  /** The key's last part; by default `host:port` of the URL. */
  id?: string;
  /** Default 1; 0 drains the instance. */
  weight?: number;
  tags?: Readonly<Record<string, string>>;
  /** More fields for the value's metadata object (native and grpc-naming). */
  metadata?: Readonly<Record<string, unknown>>;
}

/** A registration as one etcd key and value. */
export interface EncodedRecord {
  key: string;
  value: string;
  id: string;
}
