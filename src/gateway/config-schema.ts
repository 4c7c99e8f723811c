import { z } from 'zod';
import { parseTags, STRATEGY_NAMES } from '../balance/index.js';
import { LAYOUT_NAMES, type LayoutName } from '../registry/index.js';
import { parseRule } from './address-rules.js';

/** Variables whose values never appear in an error message. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(['ETCD_PASSWORD', 'ADMIN_TOKEN']);

function int(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);
}

const list = z.string().transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean));

function oneOf<T extends string>(names: readonly T[]) {
  const allowed = new Set<string>(names);
  return (value: string, ctx: z.RefinementCtx) => {
    if (!allowed.has(value)) ctx.addIssue({ code: 'custom', message: `expected one of ${names.join(', ')}, got ${JSON.stringify(value)}` });
  };
}

const endpoints = list.pipe(
  z.array(z.string().refine((url) => /^https?:\/\/[^/?#]+\/?$/.test(url) && URL.canParse(url), 'expected http(s)://host:port URLs, comma-separated')).min(1, 'needs at least one URL'),
);

const layouts = list.pipe(
  z
    .array(z.string().superRefine(oneOf(LAYOUT_NAMES)))
    .min(1, 'needs at least one layout')
    .transform((names) => [...new Set(names)] as LayoutName[]),
);

const hashKey = z
  .string()
  .regex(/^(ip|(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64})$/, 'expected ip, header:NAME or cookie:NAME')
  .transform((spec) => {
    if (spec === 'ip') return { from: 'ip' as const };
    const [from, name] = spec.split(':') as ['header' | 'cookie', string];
    return from === 'header' ? { from, name: name.toLowerCase() } : { from, name };
  })
  .default({ from: 'ip' });

const tags = z
  .string()
  .transform((spec, ctx) => {
    const parsed = parseTags(spec);
    if (!parsed) ctx.addIssue({ code: 'custom', message: 'expected key=value pairs, comma-separated' });
    return parsed ?? {};
  })
  .default({});

const rules = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    const problem = parseRule(entry).problem;
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)}: ${problem}` });
  }
});

const flag = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(['on', 'off', 'true', 'false', '1', '0'], { message: 'expected on or off' }))
  .transform((s) => s === 'on' || s === 'true' || s === '1');

/** Every environment variable the gateway reads. Documented in the README. */
export const ENV_SCHEMA = z.object({
  ETCD_ENDPOINTS: endpoints,
  ETCD_USERNAME: z.string().max(256).optional(),
  ETCD_PASSWORD: z.string().max(1024).optional(),
  ETCD_EDGE_LAYOUTS: layouts.default(['native']),
  ETCD_EDGE_PREFIX: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected printable ASCII without spaces').default('services/'),
  ETCD_EDGE_CACHE_TTL_MS: int(0, 3_600_000, 2_000),
  ETCD_EDGE_WATCH: flag.optional(),
  ETCD_EDGE_STRATEGY: z.string().superRefine(oneOf(STRATEGY_NAMES)).transform((s) => s as (typeof STRATEGY_NAMES)[number]).default('weighted-random'),
  ETCD_EDGE_HASH_KEY: hashKey,
  ETCD_EDGE_TAGS: tags,
  EDGE_ZONE: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -').optional(),
  ETCD_EDGE_MAX_ATTEMPTS: int(1, 10, 3),
  ETCD_EDGE_DEADLINE_MS: int(100, 600_000, 30_000),
  ETCD_EDGE_CONNECT_TIMEOUT_MS: int(10, 60_000, 2_000),
  ETCD_EDGE_UPSTREAM_TIMEOUT_MS: int(10, 600_000, 15_000),
  ETCD_EDGE_RETRY_BUFFER_BYTES: int(0, 16 * 1024 * 1024, 64 * 1024),
  ETCD_EDGE_EJECT_AFTER: int(1, 1_000, 5),
  ETCD_EDGE_EJECT_BASE_MS: int(1, 3_600_000, 30_000),
  ETCD_EDGE_EJECT_MAX_MS: int(1, 86_400_000, 300_000),
  ETCD_EDGE_EJECT_MAX_PERCENT: int(0, 100, 50),
  ETCD_EDGE_ALLOW: rules.default([]),
  ETCD_EDGE_DENY: rules.default([]),
  ETCD_EDGE_IP_INSTANCES: z.enum(['allow', 'loopback-only'], { message: 'expected allow or loopback-only' }).optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').max(1024).optional(),
  PORT: int(0, 65_535, 8_787),
});
