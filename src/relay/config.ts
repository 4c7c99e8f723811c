// zod/mini, as the gateway's configuration: the same checks at a fraction of the bundle.
import * as z from 'zod/mini';
import { ConfigError, type Env } from '../gateway/index.js';
import type { RelayLimits } from './options.js';

/** The relay's own settings; the etcd connection is configured as for `serve`. */
export interface RelayConfig {
  tokens: string[];
  limits: RelayLimits;
  /** Services held (and watched) at most. */
  maxServices: number;
  /** A service nobody asked for in this long stops being watched (ms). */
  idleMs: number;
}

/** At least 16 visible characters: a bearer token that faces the internet must not be guessable. */
const TOKEN = /^[\x21-\x7e]{16,512}$/;

function int(min: number, max: number, fallback: number) {
  const number = z.pipe(z.string().check(z.regex(/^\d{1,16}$/, 'expected a whole number')), z.transform(Number));
  return z._default(z.pipe(number, z.number().check(z.gte(min, `must be at least ${min}`), z.lte(max, `must be at most ${max}`))), fallback);
}

const tokens = z.pipe(
  z.string().check(
    z.refine((value) => split(value).length > 0 && split(value).every((token) => TOKEN.test(token)), 'expected comma-separated tokens of 16 to 512 visible characters'),
  ),
  z.transform(split),
);

function split(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

export const RELAY_ENV_SCHEMA = z.object({
  ETCD_EDGE_RELAY_TOKENS: tokens,
  ETCD_EDGE_RELAY_RATE: int(1, 1_000_000, 50),
  ETCD_EDGE_RELAY_BURST: int(1, 1_000_000, 200),
  ETCD_EDGE_RELAY_MAX_WAITS_PER_CLIENT: int(1, 1_000_000, 1_000),
  ETCD_EDGE_RELAY_MAX_WAITS: int(1, 1_000_000, 20_000),
  ETCD_EDGE_RELAY_MAX_SERVICES: int(1, 1_000_000, 10_000),
  ETCD_EDGE_RELAY_IDLE_MS: int(1_000, 86_400_000, 300_000),
});

/**
 * The relay's settings from the environment.
 * @throws {ConfigError} naming the first bad variable; a token is never echoed
 */
export function relayConfig(env: Env): RelayConfig {
  const given = env.ETCD_EDGE_RELAY_TOKENS;
  if (typeof given !== 'string' || given.trim() === '') {
    throw new ConfigError('ETCD_EDGE_RELAY_TOKENS', 'the relay needs bearer tokens (comma-separated) and will not start without them');
  }
  const input = Object.fromEntries(Object.keys(RELAY_ENV_SCHEMA.shape).flatMap((name) => (typeof env[name] === 'string' ? [[name, env[name]]] : [])));
  const parsed = RELAY_ENV_SCHEMA.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  const v = parsed.data;
  return {
    tokens: v.ETCD_EDGE_RELAY_TOKENS,
    limits: { ratePerSecond: v.ETCD_EDGE_RELAY_RATE, burst: v.ETCD_EDGE_RELAY_BURST, maxClients: 100_000, maxWaitsPerClient: v.ETCD_EDGE_RELAY_MAX_WAITS_PER_CLIENT, maxWaits: v.ETCD_EDGE_RELAY_MAX_WAITS },
    maxServices: v.ETCD_EDGE_RELAY_MAX_SERVICES,
    idleMs: v.ETCD_EDGE_RELAY_IDLE_MS,
  };
}
