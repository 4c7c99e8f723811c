import { EtcdClient } from '../etcd/index.js';
import { LAYOUT_NAMES, layoutByName, type KeyLayout } from '../registry/index.js';
import { UsageError } from './errors.js';
import { tlsFetch, type TlsFiles } from './tls-fetch.js';

/** Options every command takes. */
export interface ConnectionFlags extends TlsFiles {
  etcd?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  prefix?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The endpoints from `--etcd`, `ETCD_ENDPOINTS`, or the local default. */
export function endpointsFrom(flags: ConnectionFlags, env: Env): string[] {
  const list = (flags.etcd ?? env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError('--etcd needs at least one URL');
  return list;
}

/** An etcd client from the flags and environment; TLS files are read once, here. */
export function connect(flags: ConnectionFlags, env: Env): EtcdClient {
  const username = flags.user ?? env.ETCD_USERNAME;
  const password = flags.password ?? env.ETCD_PASSWORD;
  if ((username === undefined) !== (password === undefined)) throw new UsageError('--user and --password go together');
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new UsageError('--cert and --key go together');
  const endpoints = endpointsFrom(flags, env);
  const fetch = flags.cacert || flags.cert ? tlsFetch(flags) : undefined;
  try {
    return new EtcdClient({
      endpoints,
      ...(username === undefined ? {} : { username, password: password! }),
      ...(fetch ? { fetch } : {}),
    });
  } catch (error) {
    throw new UsageError(`--etcd: ${(error as Error).message}`);
  }
}

/** Layouts from a comma list (`--layout`, else `ETCD_EDGE_LAYOUTS`, else `fallback`). */
export function layoutsFrom(value: string | undefined, flags: ConnectionFlags, env: Env, fallback: readonly string[]): KeyLayout[] {
  const names = value === undefined ? (env.ETCD_EDGE_LAYOUTS?.split(',') ?? fallback) : value.split(',');
  const prefix = flags.prefix ?? env.ETCD_EDGE_PREFIX;
  try {
    return [...new Set(names.map((n) => n.trim()).filter(Boolean))].map((name) =>
      layoutByName(name, prefix === undefined ? {} : { nativePrefix: prefix }),
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const ALL_LAYOUTS = LAYOUT_NAMES;

/** The one layout a write goes to: `--layout`, default native. */
export function singleLayout(flags: ConnectionFlags & { layout?: string | undefined }, ctx: { env: Env }): KeyLayout {
  const layouts = layoutsFrom(flags.layout ?? 'native', flags, ctx.env, ['native']);
  if (layouts.length !== 1) throw new UsageError('--layout takes one layout here');
  return layouts[0]!;
}
