// zod/mini: the same validation as classic zod at a sixth of the Worker bundle.
import * as z from 'zod/mini';
import { parseTags, STRATEGY_NAMES, type StrategyName } from '../balance/index.js';
import { endpointPortProblem } from '../etcd/index.js';
import { isServiceName, LAYOUT_NAMES, type LayoutName } from '../registry/index.js';
import { parseRule } from './address-rules.js';
import { parseCidr } from './ip.js';
import { serviceListProblem } from './exposed-services.js';

/** Variables whose values never appear in an error message. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(['ETCD_PASSWORD', 'ADMIN_TOKEN', 'ETCD_EDGE_RELAY_TOKEN']);

function wholeNumber(min: number, max: number) {
  const number = z.pipe(
    z.string().check(z.regex(/^\d+$/, 'expected a whole number')),
    z.transform((s) => Number(s)),
  );
  return z.pipe(number, z.number().check(z.gte(min, `must be at least ${min}`), z.lte(max, `must be at most ${max}`)));
}

function int(min: number, max: number, fallback: number) {
  return z._default(wholeNumber(min, max), fallback);
}

function list<T>(item: (entry: string) => string | undefined, map: (entries: string[]) => T) {
  return z.pipe(
    z.string().check(
      z.superRefine((value, ctx) => {
        for (const entry of split(value)) {
          const problem = item(entry);
          if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
        }
      }),
    ),
    z.transform((value) => map(split(value))),
  );
}

function split(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

function oneOf<T extends string>(names: readonly T[]) {
  return z.pipe(
    z.string().check(z.refine((value) => (names as readonly string[]).includes(value), `expected one of ${names.join(', ')}`)),
    z.transform((value) => value as T),
  );
}

/** `http(s)://host[:port]`: no path, and no userinfo (credentials go in ETCD_USERNAME/ETCD_PASSWORD, never in a logged URL). */
const URL_SHAPE = /^https?:\/\/[^/?#@]+\/?$/;

const endpoints = list(
  (url) => (URL_SHAPE.test(url) && URL.canParse(url) ? endpointPortProblem(url) : 'expected http(s)://host:port URLs without user:password@, comma-separated'),
  (urls) => urls,
).check(z.refine((urls) => urls.length > 0, 'needs at least one URL'));

const layouts = list(
  (name) => ((LAYOUT_NAMES as readonly string[]).includes(name) ? undefined : `expected layouts from ${LAYOUT_NAMES.join(', ')}, got ${JSON.stringify(name)}`),
  (names) => [...new Set(names)] as LayoutName[],
).check(z.refine((names) => names.length > 0, 'needs at least one layout'));

const rules = list((entry) => {
  const problem = parseRule(entry).problem;
  return problem && `${JSON.stringify(entry)}: ${problem}`;
}, (entries) => entries);

const hashKey = z.pipe(
  z.string().check(z.regex(/^(ip|(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64})$/, 'expected ip, header:NAME or cookie:NAME')),
  z.transform((spec) => {
    if (spec === 'ip') return { from: 'ip' as const };
    const [from, name] = spec.split(':') as ['header' | 'cookie', string];
    return from === 'header' ? { from, name: name.toLowerCase() } : { from, name };
  }),
);

const tags = z.pipe(
  z.string().check(z.refine((spec) => parseTags(spec) !== undefined, 'expected key=value pairs, comma-separated')),
  z.transform((spec) => parseTags(spec) ?? {}),
);

const flag = z.pipe(
  z.string().check(z.refine((s) => /^(on|off|true|false|1|0)$/i.test(s), 'expected on or off')),
  z.transform((s) => /^(on|true|1)$/i.test(s)),
);

const services = z.pipe(
  z.string().check(z.refine((spec) => serviceListProblem(spec) === undefined, 'expected service names or name-prefix* patterns, comma-separated')),
  z.transform((spec) => spec.split(',').map((s) => s.trim())),
);

/** A fully-qualified gRPC service name: `pkg.Service`. */
const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `pkg.Service=name`, comma-separated: the registry service that takes a gRPC service's calls. */
const grpcServices = list(
  (entry) => {
    const [grpc = '', name = '', ...rest] = entry.split('=').map((part) => part.trim());
    if (rest.length === 0 && GRPC_SERVICE.test(grpc) && grpc.length <= 256 && isServiceName(name)) return undefined;
    return `${JSON.stringify(entry)}: expected package.Service=service-name`;
  },
  (entries): Readonly<Record<string, string>> => Object.fromEntries(entries.map((entry) => entry.split('=').map((part) => part.trim()) as [string, string])),
);

/** An origin as browsers send it (`scheme://host[:port]`, no path), or `*` for any. */
const ORIGIN = /^(\*|https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?|https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/;

const corsOrigins = list(
  (entry) => (ORIGIN.test(entry) ? undefined : `${JSON.stringify(entry)}: expected an origin (https://app.example.com[:port]) or *`),
  (entries) => entries,
);

const ipInstances = oneOf(['allow', 'loopback-only'] as const);

const cidrs = list((entry) => (parseCidr(entry) ? undefined : `${JSON.stringify(entry)}: expected an IP address or CIDR`), (entries) => entries);

/** `off`, `stdout`, or a file path (Node); Workers and Lambda log any value but `off` to the console. */
const accessLog = z.pipe(
  z.string().check(z.refine((value) => !/[\x00-\x1f\x7f]/.test(value) && value.length <= 1024, 'expected off, stdout or a file path')),
  z.transform((value): 'off' | 'stdout' | { path: string } => (value === 'off' || value === 'stdout' ? value : { path: value })),
);

/** Every environment variable the gateway reads. Documented in the README. */
export const ENV_SCHEMA = z.object({
  /** Required unless ETCD_EDGE_RELAY_URL is set (checked in loadConfig). */
  ETCD_ENDPOINTS: z.optional(endpoints),
  ETCD_EDGE_RELAY_URL: z.optional(endpoints),
  ETCD_EDGE_RELAY_TOKEN: z.optional(z.string().check(z.regex(/^[\x21-\x7e]{16,512}$/, 'must be 16-512 visible ASCII characters, as the relay takes them'))),
  ETCD_USERNAME: z.optional(z.string().check(z.maxLength(256, 'must be at most 256 characters'))),
  ETCD_PASSWORD: z.optional(z.string().check(z.maxLength(1024, 'must be at most 1024 characters'))),
  ETCD_EDGE_LAYOUTS: z._default(layouts, ['native']),
  ETCD_EDGE_SERVICES: z.optional(services),
  ETCD_EDGE_PREFIX: z._default(z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/, 'expected printable ASCII without spaces')), 'services/'),
  ETCD_EDGE_CACHE_TTL_MS: int(0, 3_600_000, 2_000),
  ETCD_EDGE_WATCH: z.optional(flag),
  /** Workers: read snapshots through the SnapshotHub Durable Object (default on when ETCD_EDGE_HUB is bound). */
  ETCD_EDGE_USE_HUB: z.optional(flag),
  ETCD_EDGE_HUB_FALLBACK: z._default(flag, true),
  /** Workers: how long the hub serves a snapshot before reading again (ms); default ETCD_EDGE_CACHE_TTL_MS. */
  ETCD_EDGE_HUB_CACHE_TTL_MS: z.optional(wholeNumber(0, 3_600_000)),
  /** Workers: a Durable Object locationHint; one hub per hint instead of one for the whole Worker. */
  ETCD_EDGE_HUB_LOCATION: z.optional(oneOf(['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'] as const)),
  ETCD_EDGE_STRATEGY: z._default(oneOf<StrategyName>(STRATEGY_NAMES), 'weighted-random'),
  ETCD_EDGE_HASH_KEY: z._default(hashKey, { from: 'ip' }),
  ETCD_EDGE_TAGS: z._default(tags, {}),
  EDGE_ZONE: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -'))),
  ETCD_EDGE_MAX_ATTEMPTS: int(1, 10, 3),
  ETCD_EDGE_DEADLINE_MS: int(100, 600_000, 30_000),
  ETCD_EDGE_CONNECT_TIMEOUT_MS: int(10, 60_000, 2_000),
  ETCD_EDGE_UPSTREAM_TIMEOUT_MS: int(10, 600_000, 15_000),
  ETCD_EDGE_RETRY_BUFFER_BYTES: int(0, 16 * 1024 * 1024, 64 * 1024),
  ETCD_EDGE_EJECT_AFTER: int(1, 1_000, 5),
  ETCD_EDGE_EJECT_BASE_MS: int(1, 3_600_000, 30_000),
  ETCD_EDGE_EJECT_MAX_MS: int(1, 86_400_000, 300_000),
  ETCD_EDGE_EJECT_MAX_PERCENT: int(0, 100, 50),
  ETCD_EDGE_ALLOW: z._default(rules, []),
  ETCD_EDGE_DENY: z._default(rules, []),
  ETCD_EDGE_IP_INSTANCES: z.optional(ipInstances),
  ETCD_EDGE_ALLOW_LOOPBACK: z._default(flag, false),
  ETCD_EDGE_MAX_HEADERS: int(1, 1_000, 100),
  ETCD_EDGE_MAX_HOPS: int(1, 64, 8),
  ETCD_EDGE_DEPLOYMENT: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -'))),
  ETCD_EDGE_TRUSTED_PROXIES: z._default(cidrs, []),
  ETCD_EDGE_ALLOW_TRACE: z._default(flag, false),
  ETCD_EDGE_MAX_BODY_BYTES: z.optional(wholeNumber(0, Number.MAX_SAFE_INTEGER)),
  /** Node: upgraded WebSocket connections relayed at once (503 beyond). */
  ETCD_EDGE_WS_MAX_CONNECTIONS: int(1, 1_000_000, 10_000),
  /** Node: a relayed WebSocket with no bytes either way for this long is closed (1001 to the client). */
  ETCD_EDGE_WS_IDLE_TIMEOUT_MS: int(1_000, 86_400_000, 300_000),
  /** Node: which registry service takes each gRPC service's calls to /{package.Service}/{Method}. */
  ETCD_EDGE_GRPC_SERVICES: z._default(grpcServices, {}),
  /** Node: browser origins whose gRPC-Web calls the gateway answers with CORS (preflights included); `*` for any. */
  ETCD_EDGE_CORS_ORIGINS: z._default(corsOrigins, []),
  ETCD_EDGE_ACCESS_LOG: z._default(accessLog, 'off'),
  ETCD_EDGE_ADMIN_PORT: z.optional(wholeNumber(0, 65_535)),
  ETCD_EDGE_ADMIN_HOST: z._default(z.string().check(z.regex(/^[A-Za-z0-9.:_-]{1,253}$/, 'expected a host name or IP address')), '127.0.0.1'),
  ADMIN_TOKEN: z.optional(z.string().check(z.minLength(16, 'must be at least 16 characters'), z.maxLength(1024, 'must be at most 1024 characters'))),
  PORT: int(0, 65_535, 8_787),
});

/** The issues of a failed parse, as zod reports them. */
export type SchemaIssue = { path: readonly PropertyKey[]; message: string };
