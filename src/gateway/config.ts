import { STRATEGY_NAMES, type StrategyName } from '../balance/index.js';
import { LAYOUT_NAMES, type LayoutName } from '../registry/index.js';
import { ENV_SCHEMA, SECRET_VARIABLES, type SchemaIssue } from './config-schema.js';

/** Where the `hash` strategy reads a request's key. */
export type HashKeySource = { from: 'ip' } | { from: 'header'; name: string } | { from: 'cookie'; name: string };

/** Everything the gateway is told, on every runtime. */
export interface GatewayConfig {
  /** etcd's endpoints; empty when a relay is read instead. */
  etcd: { endpoints: string[]; username?: string; password?: string };
  /** A snapshot relay read instead of etcd (`ETCD_EDGE_RELAY_URL`), and its bearer token. */
  relay: { urls: string[]; token: string } | undefined;
  /** Workers: snapshots read through the SnapshotHub Durable Object; `fallback` reads directly when it fails. */
  hub: { fallback: boolean; locationHint: string | undefined } | undefined;
  layouts: LayoutName[];
  /** Names and `prefix*` patterns of the services routed; all when undefined. */
  services: string[] | undefined;
  /** Prefix of the native layout. */
  prefix: string;
  cacheTtlMs: number;
  watch: boolean;
  strategy: StrategyName;
  hashKey: HashKeySource;
  /** Tags every routed instance must carry. */
  tags: Readonly<Record<string, string>>;
  zone: string | undefined;
  retry: { maxAttempts: number; deadlineMs: number; connectTimeoutMs: number; upstreamTimeoutMs: number; bufferBytes: number };
  ejection: { consecutiveFailures: number; baseEjectionMs: number; maxEjectionMs: number; maxEjectedPercent: number };
  /** `allowLoopback`: instances on 127.0.0.0/8, ::1 or `localhost` (development only). */
  addresses: { allow: string[]; deny: string[]; ipLiterals: 'allow' | 'loopback-only'; allowLoopback: boolean };
  /** What a client's request may be, checked before any lookup. */
  limits: {
    /** Request header fields at most (431 beyond). */
    maxHeaders: number;
    /** Passes through this deployment a request may already have made (508 beyond). */
    maxHops: number;
    /** Request body bytes at most (413 beyond); undefined for no limit. */
    maxBodyBytes: number | undefined;
    allowTrace: boolean;
  };
  /** Peers (CIDRs) believed when they say who the client is (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, …). */
  trustedProxies: string[];
  /** This deployment's name in `Via` (`etcd-edge-{deployment}`), which is how a request looping back through it is counted; random per process unless configured. */
  deployment: string;
  /** gRPC services (`package.Service`) mapped to the registry service that takes their calls (Node); others go to the service named like them. */
  grpcServices: Readonly<Record<string, string>>;
  /** Origins whose gRPC-Web calls get CORS from the gateway, `*` for any (Node); empty for no CORS fields from the gateway. */
  corsOrigins: readonly string[];
  /** WebSocket relaying where the runtime holds the connections (Node): how many at once, and how long one may stay silent. */
  websocket: { maxConnections: number; idleTimeoutMs: number };
  accessLog: 'off' | 'stdout' | { path: string };
  adminToken: string | undefined;
  /** Where admin routes listen apart from the proxy (Node); undefined to serve them on the main port. */
  adminListener: { port: number; host: string } | undefined;
  port: number;
}

/** What differs between runtimes before the environment says otherwise. */
export interface RuntimeDefaults {
  watch: boolean;
  /** Workers cannot fetch raw IP addresses except on loopback under `wrangler dev`. */
  ipLiterals: 'allow' | 'loopback-only';
  /** The edge's zone when `EDGE_ZONE` is unset (`AWS_REGION` on Lambda). */
  zone?: string | undefined;
  /** The etcd endpoints when `ETCD_ENDPOINTS` is unset; without one the variable is required. */
  endpoints?: string;
  /** False where no stream may outlive a request (Workers, Lambda): `ETCD_EDGE_WATCH=on` is then an error. */
  watchable?: boolean;
  /** A snapshot hub is bound (Workers' `ETCD_EDGE_HUB`): it is used unless `ETCD_EDGE_USE_HUB=off`, and watch mode means "through the hub". */
  hub?: boolean;
}

export type Env = Readonly<Record<string, unknown>>;

/** A configuration variable that is missing or malformed; `variable` names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/**
 * Reads the configuration from environment variables (a Worker's `env`,
 * Node's environment), validated by one schema for every runtime.
 *
 * @throws {ConfigError} naming the first bad variable; secrets are never echoed
 * @example
 * const config = loadConfig(env, { watch: true, ipLiterals: 'allow' });
 */
export function loadConfig(env: Env, defaults: RuntimeDefaults): GatewayConfig {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_SCHEMA.shape)) {
    // wrangler.toml may give numbers and booleans; they mean their text.
    const raw = env[name];
    const value = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
    // Secrets are taken as given: a password may begin or end with a space.
    if (typeof value === 'string' && value.trim() !== '') input[name] = SECRET_VARIABLES.has(name) ? value : value.trim();
  }
  // With a relay, etcd is not read: no default endpoint is assumed.
  if (input.ETCD_EDGE_RELAY_URL === undefined) input.ETCD_ENDPOINTS ??= defaults.endpoints;
  const parsed = ENV_SCHEMA.safeParse(input);
  if (!parsed.success) throw toConfigError(parsed.error.issues, input);
  const v = parsed.data;
  const relay = relayOf(v.ETCD_EDGE_RELAY_URL, v.ETCD_EDGE_RELAY_TOKEN);
  if (!relay && v.ETCD_ENDPOINTS === undefined) throw new ConfigError('ETCD_ENDPOINTS', 'is required (or ETCD_EDGE_RELAY_URL, to read a snapshot relay instead)');
  if ((v.ETCD_USERNAME === undefined) !== (v.ETCD_PASSWORD === undefined)) {
    throw new ConfigError(v.ETCD_USERNAME === undefined ? 'ETCD_USERNAME' : 'ETCD_PASSWORD', 'ETCD_USERNAME and ETCD_PASSWORD go together');
  }
  const hub = defaults.hub === true && v.ETCD_EDGE_USE_HUB !== false ? { fallback: v.ETCD_EDGE_HUB_FALLBACK, locationHint: v.ETCD_EDGE_HUB_LOCATION } : undefined;
  if (v.ETCD_EDGE_USE_HUB === true && defaults.hub !== true) throw new ConfigError('ETCD_EDGE_USE_HUB', 'needs the ETCD_EDGE_HUB Durable Object binding (Workers)');
  if (v.ETCD_EDGE_WATCH === true && defaults.watchable === false && !hub) {
    throw new ConfigError('ETCD_EDGE_WATCH', 'watch mode needs a long-lived process (Node); this runtime ends streams with each request');
  }
  if (v.ETCD_EDGE_ADMIN_PORT !== undefined && v.ADMIN_TOKEN === undefined) {
    throw new ConfigError('ETCD_EDGE_ADMIN_PORT', 'the admin listener needs ADMIN_TOKEN (admin routes are off without one)');
  }
  if (v.ETCD_EDGE_EJECT_BASE_MS > v.ETCD_EDGE_EJECT_MAX_MS) {
    throw new ConfigError('ETCD_EDGE_EJECT_BASE_MS', `must not exceed ETCD_EDGE_EJECT_MAX_MS (${v.ETCD_EDGE_EJECT_MAX_MS})`);
  }
  return {
    etcd: { endpoints: v.ETCD_ENDPOINTS ?? [], ...(v.ETCD_USERNAME === undefined ? {} : { username: v.ETCD_USERNAME, password: v.ETCD_PASSWORD! }) },
    relay,
    hub,
    layouts: v.ETCD_EDGE_LAYOUTS,
    services: v.ETCD_EDGE_SERVICES,
    prefix: v.ETCD_EDGE_PREFIX,
    cacheTtlMs: v.ETCD_EDGE_CACHE_TTL_MS,
    // With a relay, watch mode is a long-poll per held service (refused above where processes are short-lived).
    // Through the hub, the hub is the one long-lived reader; the isolate keeps a cache on top.
    watch: hub ? false : (v.ETCD_EDGE_WATCH ?? defaults.watch),
    strategy: v.ETCD_EDGE_STRATEGY,
    hashKey: v.ETCD_EDGE_HASH_KEY,
    tags: v.ETCD_EDGE_TAGS,
    zone: v.EDGE_ZONE ?? defaults.zone,
    retry: {
      maxAttempts: v.ETCD_EDGE_MAX_ATTEMPTS,
      deadlineMs: v.ETCD_EDGE_DEADLINE_MS,
      connectTimeoutMs: v.ETCD_EDGE_CONNECT_TIMEOUT_MS,
      upstreamTimeoutMs: v.ETCD_EDGE_UPSTREAM_TIMEOUT_MS,
      bufferBytes: v.ETCD_EDGE_RETRY_BUFFER_BYTES,
    },
    ejection: {
      consecutiveFailures: v.ETCD_EDGE_EJECT_AFTER,
      baseEjectionMs: v.ETCD_EDGE_EJECT_BASE_MS,
      maxEjectionMs: v.ETCD_EDGE_EJECT_MAX_MS,
      maxEjectedPercent: v.ETCD_EDGE_EJECT_MAX_PERCENT,
    },
    addresses: {
      allow: v.ETCD_EDGE_ALLOW,
      deny: v.ETCD_EDGE_DENY,
      ipLiterals: v.ETCD_EDGE_IP_INSTANCES ?? defaults.ipLiterals,
      allowLoopback: v.ETCD_EDGE_ALLOW_LOOPBACK,
    },
    limits: {
      maxHeaders: v.ETCD_EDGE_MAX_HEADERS,
      maxHops: v.ETCD_EDGE_MAX_HOPS,
      maxBodyBytes: v.ETCD_EDGE_MAX_BODY_BYTES,
      allowTrace: v.ETCD_EDGE_ALLOW_TRACE,
    },
    trustedProxies: v.ETCD_EDGE_TRUSTED_PROXIES,
    deployment: v.ETCD_EDGE_DEPLOYMENT ?? randomDeploymentName(),
    grpcServices: v.ETCD_EDGE_GRPC_SERVICES,
    corsOrigins: v.ETCD_EDGE_CORS_ORIGINS,
    websocket: { maxConnections: v.ETCD_EDGE_WS_MAX_CONNECTIONS, idleTimeoutMs: v.ETCD_EDGE_WS_IDLE_TIMEOUT_MS },
    accessLog: v.ETCD_EDGE_ACCESS_LOG,
    adminToken: v.ADMIN_TOKEN,
    adminListener: v.ETCD_EDGE_ADMIN_PORT === undefined ? undefined : { port: v.ETCD_EDGE_ADMIN_PORT, host: v.ETCD_EDGE_ADMIN_HOST },
    port: v.PORT,
  };
}

/** The relay to read, if one is configured; its token goes with it. */
function relayOf(urls: string[] | undefined, token: string | undefined): GatewayConfig['relay'] {
  if (urls === undefined) {
    if (token !== undefined) throw new ConfigError('ETCD_EDGE_RELAY_TOKEN', 'is set without ETCD_EDGE_RELAY_URL');
    return undefined;
  }
  if (token === undefined) throw new ConfigError('ETCD_EDGE_RELAY_TOKEN', 'is required with ETCD_EDGE_RELAY_URL');
  return { urls, token };
}

/**
 * A default deployment name: random, 8 hex digits, drawn when the config is
 * read (inside a request on Workers, where random values may not be drawn at
 * start-up). Nothing about the deployment can be learnt from it; a name
 * derived from the configuration (endpoints, prefix) could be searched back to
 * the etcd address. Replicas share a name only when `ETCD_EDGE_DEPLOYMENT`
 * gives one; otherwise each counts the passes through itself.
 */
function randomDeploymentName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function toConfigError(issues: readonly SchemaIssue[], input: Record<string, unknown>): ConfigError {
  const issue = issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const value = input[variable];
  if (value === undefined) return new ConfigError(variable, 'is required');
  // Credentials never appear, neither as secret variables nor as user:password@ in a URL.
  const text = String(value).slice(0, 200).replace(/\/\/[^/@]*@/g, '//***@');
  const shown = SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(text)})`;
  return new ConfigError(variable, `${issue.message}${shown}`);
}

export { LAYOUT_NAMES, STRATEGY_NAMES };
