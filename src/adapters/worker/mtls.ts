import * as z from 'zod/mini';
import type { FetchLike } from '../../etcd/index.js';
import { ConfigError, type Env } from '../../gateway/index.js';

/** The Worker-only variables that name an `[[mtls_certificates]]` binding: one for etcd and the relay, one for instances. */
export const MTLS_VARIABLES = ['ETCD_EDGE_ETCD_MTLS', 'ETCD_EDGE_UPSTREAM_MTLS'] as const;
export type MtlsVariable = (typeof MTLS_VARIABLES)[number];

/** What a Worker's mTLS certificate binding is: `fetch` with the global signature, presenting the client certificate. */
export interface MtlsBinding {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

// A binding name as wrangler.toml accepts one: a JavaScript identifier.
const BINDING_NAME = z.string().check(
  z.trim(),
  z.regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'must name a binding (letters, digits, _ and $, not starting with a digit)'),
  z.maxLength(128, 'must name a binding of at most 128 characters'),
);

/**
 * The `fetch` of the mTLS binding that `variable` names, or undefined when
 * the variable is unset (global `fetch` then). A name that is malformed, or
 * names no binding with a `fetch` method, is a `ConfigError` naming the
 * variable: a Worker that was told to present a client certificate must not
 * quietly connect without one.
 *
 * @example
 * // wrangler.toml: [[mtls_certificates]] binding = "ETCD_CERT", certificate_id = "…"
 * //               [vars] ETCD_EDGE_ETCD_MTLS = "ETCD_CERT"
 * const etcdFetch = mtlsFetch(env, 'ETCD_EDGE_ETCD_MTLS');
 */
export function mtlsFetch(env: Env, variable: MtlsVariable): FetchLike | undefined {
  const raw = env[variable];
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) return undefined;
  const parsed = BINDING_NAME.safeParse(raw);
  if (!parsed.success) throw new ConfigError(variable, `${parsed.error.issues[0]!.message} (got ${JSON.stringify(String(raw).slice(0, 200))})`);
  const binding = env[parsed.data];
  if (!isBinding(binding)) {
    throw new ConfigError(variable, `names ${JSON.stringify(parsed.data)}, which is not an mTLS certificate binding of this Worker (an [[mtls_certificates]] entry with binding = ${JSON.stringify(parsed.data)})`);
  }
  // Called as a method: a binding's fetch needs its binding as `this`.
  return (input, init) => binding.fetch(input, init);
}

/** `etcdFetch` for the gateway (etcd and, by default, the relay) when `ETCD_EDGE_ETCD_MTLS` names a binding; nothing otherwise. */
export function etcdMtls(env: Env): { etcdFetch?: FetchLike } {
  const etcdFetch = mtlsFetch(env, 'ETCD_EDGE_ETCD_MTLS');
  return etcdFetch ? { etcdFetch } : {};
}

function isBinding(value: unknown): value is MtlsBinding {
  return typeof value === 'object' && value !== null && typeof (value as { fetch?: unknown }).fetch === 'function';
}
