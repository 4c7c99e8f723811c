import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env, type RuntimeDefaults } from './config.js';

const ENDPOINT = 'http://etcd.example:2379';
const NODE: RuntimeDefaults = { watch: true, ipLiterals: 'allow' };
const WORKER: RuntimeDefaults = { watch: false, ipLiterals: 'loopback-only' };

const load = (env: Env, defaults: RuntimeDefaults = NODE) => loadConfig({ ETCD_ENDPOINTS: ENDPOINT, ...env }, defaults);

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('fills every setting from the defaults', () => {
    expect(load({})).toEqual({
      etcd: { endpoints: [ENDPOINT] },
      layouts: ['native'],
      prefix: 'services/',
      cacheTtlMs: 2_000,
      watch: true,
      strategy: 'weighted-random',
      hashKey: { from: 'ip' },
      tags: {},
      zone: undefined,
      retry: { maxAttempts: 3, deadlineMs: 30_000, connectTimeoutMs: 2_000, upstreamTimeoutMs: 15_000, bufferBytes: 65_536 },
      ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedPercent: 50 },
      addresses: { allow: [], deny: [], ipLiterals: 'allow', allowLoopback: false },
      limits: { maxHeaders: 100, maxHops: 8, maxBodyBytes: undefined, allowTrace: false },
      trustedProxies: [],
      deployment: expect.stringMatching(/^[0-9a-f]{8}$/),
      grpcServices: {},
      corsOrigins: [],
      websocket: { maxConnections: 10_000, idleTimeoutMs: 300_000 },
      accessLog: 'off',
      adminToken: undefined,
      adminListener: undefined,
      port: 8_787,
    });
  });

  it('reads the edge limits, trusted proxies, access log and admin listener', () => {
    const config = load({
      ETCD_EDGE_ALLOW_LOOPBACK: 'true',
      ETCD_EDGE_MAX_HEADERS: '50',
      ETCD_EDGE_MAX_HOPS: '2',
      ETCD_EDGE_MAX_BODY_BYTES: '1048576',
      ETCD_EDGE_ALLOW_TRACE: 'on',
      ETCD_EDGE_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32',
      ETCD_EDGE_DEPLOYMENT: 'prod-eu',
      ETCD_EDGE_ACCESS_LOG: '/var/log/edge.jsonl',
      ETCD_EDGE_ADMIN_PORT: '9901',
      ADMIN_TOKEN: 'a'.repeat(16),
    });
    expect(config.addresses.allowLoopback).toBe(true);
    expect(config.limits).toEqual({ maxHeaders: 50, maxHops: 2, maxBodyBytes: 1_048_576, allowTrace: true });
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(config.deployment).toBe('prod-eu');
    expect(config.accessLog).toEqual({ path: '/var/log/edge.jsonl' });
    expect(config.adminListener).toEqual({ port: 9901, host: '127.0.0.1' });
    expect(load({ ETCD_EDGE_ACCESS_LOG: 'stdout' }).accessLog).toBe('stdout');
    expect(() => load({ ETCD_EDGE_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/ETCD_EDGE_TRUSTED_PROXIES: "10.0.0.0\/33": expected an IP address or CIDR/);
    expect(() => load({ ETCD_EDGE_MAX_HEADERS: '0' })).toThrow(/ETCD_EDGE_MAX_HEADERS: must be at least 1/);
    expect(() => loadConfig({ ETCD_ENDPOINTS: ENDPOINT, ETCD_EDGE_ADMIN_PORT: '9901' }, { watch: true, ipLiterals: 'allow' })).toThrow(/ETCD_EDGE_ADMIN_PORT: the admin listener needs ADMIN_TOKEN/);
  });

  it('draws a random deployment name unless one is given: nothing of the configuration can be searched back from Via', () => {
    const names = new Set(Array.from({ length: 20 }, () => load({ ETCD_ENDPOINTS: 'http://10.42.17.203:2379' }).deployment));
    expect(names.size).toBe(20);
    for (const name of names) expect(name).toMatch(/^[0-9a-f]{8}$/);
    expect(load({ ETCD_EDGE_DEPLOYMENT: 'edge-eu' }).deployment).toBe('edge-eu');
  });

  it('takes the runtime defaults for watch, IP literals, zone and endpoints', () => {
    const config = loadConfig({}, { ...WORKER, zone: 'eu-west-1', endpoints: 'http://127.0.0.1:2379' });
    expect(config.watch).toBe(false);
    expect(config.addresses.ipLiterals).toBe('loopback-only');
    expect(config.zone).toBe('eu-west-1');
    expect(config.etcd.endpoints).toEqual(['http://127.0.0.1:2379']);
  });

  it('treats blank values as unset, numbers as their text, and ignores other non-strings', () => {
    const config = load({ ETCD_EDGE_STRATEGY: '   ', ETCD_EDGE_MAX_ATTEMPTS: 7 as unknown as string, ETCD_EDGE_PREFIX: {} as unknown as string, PORT: '' });
    expect(config.strategy).toBe('weighted-random');
    expect(config.retry.maxAttempts).toBe(7);
    expect(config.prefix).toBe('services/');
    expect(config.port).toBe(8_787);
  });

  it('requires ETCD_ENDPOINTS when the runtime has no default', () => {
    const error = errorOf(() => loadConfig({}, NODE));
    expect(error.variable).toBe('ETCD_ENDPOINTS');
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/^ETCD_ENDPOINTS: is required/);
  });
});

describe('loadConfig parses each variable', () => {
  it('ETCD_ENDPOINTS: a comma-separated list of http(s) URLs', () => {
    expect(load({ ETCD_ENDPOINTS: ' http://a:2379 , https://b:2379/,,http://[::1]:2379 ' }).etcd.endpoints).toEqual([
      'http://a:2379',
      'https://b:2379/',
      'http://[::1]:2379',
    ]);
    for (const bad of ['a:2379', 'ftp://a:2379', 'http://a:2379/v3', 'http://a:2379?x', ',,,', 'http://']) {
      expect(errorOf(() => load({ ETCD_ENDPOINTS: bad })).variable).toBe('ETCD_ENDPOINTS');
    }
    // Credentials belong in ETCD_USERNAME/ETCD_PASSWORD: a URL is logged, and the error never repeats them.
    const withUser = errorOf(() => load({ ETCD_ENDPOINTS: 'http://root:s3cret-pw@etcd:2379' }));
    expect(withUser.variable).toBe('ETCD_ENDPOINTS');
    expect(withUser.message).not.toContain('s3cret-pw');
  });

  it('ETCD_EDGE_WATCH=on is refused where streams cannot outlive a request; numbers from wrangler.toml count', () => {
    const error = errorOf(() => load({ ETCD_EDGE_WATCH: 'on' }, { ...WORKER, watchable: false }));
    expect(error.variable).toBe('ETCD_EDGE_WATCH');
    expect(load({ ETCD_EDGE_WATCH: 'off' }, { ...WORKER, watchable: false }).watch).toBe(false);
    expect(load({ ETCD_EDGE_CACHE_TTL_MS: 5000 as unknown as string }).cacheTtlMs).toBe(5000);
  });

  it('ETCD_EDGE_LAYOUTS: known names, deduplicated', () => {
    expect(load({ ETCD_EDGE_LAYOUTS: 'kitex, native,kitex,grpc-naming' }).layouts).toEqual(['kitex', 'native', 'grpc-naming']);
    const error = errorOf(() => load({ ETCD_EDGE_LAYOUTS: 'native,consul' }));
    expect(error.variable).toBe('ETCD_EDGE_LAYOUTS');
    expect(error.message).toContain('consul');
  });

  it('ETCD_EDGE_PREFIX: printable ASCII without spaces', () => {
    expect(load({ ETCD_EDGE_PREFIX: '/apps/' }).prefix).toBe('/apps/');
    expect(errorOf(() => load({ ETCD_EDGE_PREFIX: 'a b/' })).variable).toBe('ETCD_EDGE_PREFIX');
    expect(errorOf(() => load({ ETCD_EDGE_PREFIX: 'x'.repeat(129) })).variable).toBe('ETCD_EDGE_PREFIX');
  });

  it('ETCD_EDGE_STRATEGY: one of the strategies', () => {
    for (const strategy of ['weighted-random', 'round-robin', 'least-request', 'hash'] as const) {
      expect(load({ ETCD_EDGE_STRATEGY: strategy }).strategy).toBe(strategy);
    }
    const error = errorOf(() => load({ ETCD_EDGE_STRATEGY: 'random' }));
    expect(error.variable).toBe('ETCD_EDGE_STRATEGY');
    expect(error.message).toContain('round-robin');
  });

  it('ETCD_EDGE_HASH_KEY: ip, header:NAME (lower-cased) or cookie:NAME (as written)', () => {
    expect(load({ ETCD_EDGE_HASH_KEY: 'ip' }).hashKey).toEqual({ from: 'ip' });
    expect(load({ ETCD_EDGE_HASH_KEY: 'header:X-User-Id' }).hashKey).toEqual({ from: 'header', name: 'x-user-id' });
    expect(load({ ETCD_EDGE_HASH_KEY: 'cookie:Session' }).hashKey).toEqual({ from: 'cookie', name: 'Session' });
    for (const bad of ['IP', 'header:', 'cookie:a b', 'header:a:b', 'query:x', `header:${'a'.repeat(65)}`]) {
      expect(errorOf(() => load({ ETCD_EDGE_HASH_KEY: bad })).variable).toBe('ETCD_EDGE_HASH_KEY');
    }
  });

  it('ETCD_EDGE_WATCH: on/off and synonyms, any case, over the runtime default', () => {
    for (const on of ['on', 'ON', 'true', '1']) expect(load({ ETCD_EDGE_WATCH: on }, WORKER).watch).toBe(true);
    for (const off of ['off', 'False', '0']) expect(load({ ETCD_EDGE_WATCH: off }, NODE).watch).toBe(false);
    const error = errorOf(() => load({ ETCD_EDGE_WATCH: 'yes' }));
    expect(error.variable).toBe('ETCD_EDGE_WATCH');
    expect(error.message).toContain('expected on or off');
  });

  it('ETCD_EDGE_TAGS: key=value pairs', () => {
    expect(load({ ETCD_EDGE_TAGS: 'env=prod, version = v2' }).tags).toEqual({ env: 'prod', version: 'v2' });
    for (const bad of ['env', 'env=prod,env=dev', '=x']) expect(errorOf(() => load({ ETCD_EDGE_TAGS: bad })).variable).toBe('ETCD_EDGE_TAGS');
  });

  it('EDGE_ZONE: a short token, over the runtime default', () => {
    expect(load({ EDGE_ZONE: 'fra-1' }, { ...NODE, zone: 'other' }).zone).toBe('fra-1');
    expect(errorOf(() => load({ EDGE_ZONE: 'a/b' })).variable).toBe('EDGE_ZONE');
  });

  it('numbers: whole numbers within bounds, errors naming the bound', () => {
    const config = load({
      ETCD_EDGE_CACHE_TTL_MS: '0',
      ETCD_EDGE_MAX_ATTEMPTS: '10',
      ETCD_EDGE_DEADLINE_MS: '100',
      ETCD_EDGE_CONNECT_TIMEOUT_MS: '10',
      ETCD_EDGE_UPSTREAM_TIMEOUT_MS: '600000',
      ETCD_EDGE_RETRY_BUFFER_BYTES: '0',
      ETCD_EDGE_EJECT_AFTER: '1',
      ETCD_EDGE_EJECT_BASE_MS: '5',
      ETCD_EDGE_EJECT_MAX_MS: '86400000',
      ETCD_EDGE_EJECT_MAX_PERCENT: '100',
      PORT: '0',
    });
    expect(config.cacheTtlMs).toBe(0);
    expect(config.retry).toEqual({ maxAttempts: 10, deadlineMs: 100, connectTimeoutMs: 10, upstreamTimeoutMs: 600_000, bufferBytes: 0 });
    expect(config.ejection).toEqual({ consecutiveFailures: 1, baseEjectionMs: 5, maxEjectionMs: 86_400_000, maxEjectedPercent: 100 });
    expect(config.port).toBe(0);

    const cases: [string, string, RegExp][] = [
      ['ETCD_EDGE_MAX_ATTEMPTS', '0', /must be at least 1/],
      ['ETCD_EDGE_MAX_ATTEMPTS', '11', /must be at most 10/],
      ['ETCD_EDGE_DEADLINE_MS', '99', /must be at least 100/],
      ['ETCD_EDGE_RETRY_BUFFER_BYTES', String(16 * 1024 * 1024 + 1), /must be at most/],
      ['ETCD_EDGE_EJECT_MAX_PERCENT', '101', /must be at most 100/],
      ['PORT', '65536', /must be at most 65535/],
      ['PORT', '-1', /whole number/],
      ['ETCD_EDGE_CACHE_TTL_MS', '1.5', /whole number/],
      ['ETCD_EDGE_UPSTREAM_TIMEOUT_MS', '1e3', /whole number/],
      ['ETCD_EDGE_EJECT_AFTER', 'five', /whole number/],
    ];
    for (const [variable, value, message] of cases) {
      const error = errorOf(() => load({ [variable]: value }));
      expect(error.variable).toBe(variable);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${variable}: `)).toBe(true);
    }
  });

  it('ETCD_EDGE_ALLOW / ETCD_EDGE_DENY: lists of CIDRs, hosts and *.suffix patterns', () => {
    const config = load({ ETCD_EDGE_ALLOW: '10.0.0.0/8, *.svc.cluster.local,api.example.com', ETCD_EDGE_DENY: 'fd00::/8' });
    expect(config.addresses.allow).toEqual(['10.0.0.0/8', '*.svc.cluster.local', 'api.example.com']);
    expect(config.addresses.deny).toEqual(['fd00::/8']);
    for (const bad of ['10.0.0.0/33', '300.1.1.1', 'a b', '*.', 'http://x', '::1/129']) {
      const error = errorOf(() => load({ ETCD_EDGE_DENY: bad }));
      expect(error.variable).toBe('ETCD_EDGE_DENY');
      expect(error.message).toContain(JSON.stringify(bad));
    }
    expect(errorOf(() => load({ ETCD_EDGE_ALLOW: '10.0.0.0/8,-bad-' })).variable).toBe('ETCD_EDGE_ALLOW');
  });

  it('ETCD_EDGE_IP_INSTANCES: allow or loopback-only, over the runtime default', () => {
    expect(load({ ETCD_EDGE_IP_INSTANCES: 'loopback-only' }, NODE).addresses.ipLiterals).toBe('loopback-only');
    expect(load({ ETCD_EDGE_IP_INSTANCES: 'allow' }, WORKER).addresses.ipLiterals).toBe('allow');
    expect(errorOf(() => load({ ETCD_EDGE_IP_INSTANCES: 'deny' })).variable).toBe('ETCD_EDGE_IP_INSTANCES');
  });

  it('ETCD_USERNAME and ETCD_PASSWORD go together', () => {
    expect(load({ ETCD_USERNAME: 'root', ETCD_PASSWORD: 'hunter2' }).etcd).toEqual({ endpoints: [ENDPOINT], username: 'root', password: 'hunter2' });
    const noPassword = errorOf(() => load({ ETCD_USERNAME: 'root' }));
    expect(noPassword.variable).toBe('ETCD_PASSWORD');
    const noUser = errorOf(() => load({ ETCD_PASSWORD: 'hunter2-secret' }));
    expect(noUser.variable).toBe('ETCD_USERNAME');
    expect(noUser.message).not.toContain('hunter2-secret');
  });

  it('ADMIN_TOKEN: at least 16 characters', () => {
    expect(load({ ADMIN_TOKEN: 'a'.repeat(16) }).adminToken).toBe('a'.repeat(16));
    const error = errorOf(() => load({ ADMIN_TOKEN: 'short-Secret-15' }));
    expect(error.variable).toBe('ADMIN_TOKEN');
    expect(error.message).toContain('at least 16');
  });
});

describe('loadConfig never echoes secrets', () => {
  it('leaves the values of ETCD_PASSWORD and ADMIN_TOKEN out of error messages', () => {
    const password = 'P@ss-' + 'x'.repeat(1100);
    const passwordError = errorOf(() => load({ ETCD_USERNAME: 'root', ETCD_PASSWORD: password }));
    expect(passwordError.variable).toBe('ETCD_PASSWORD');
    expect(passwordError.message).not.toContain('P@ss-');
    expect(String(passwordError.stack)).not.toContain('P@ss-');

    const tokens = ['tok-en-secret', 'tok-' + 'y'.repeat(2000)];
    for (const token of tokens) {
      const error = errorOf(() => load({ ADMIN_TOKEN: token }));
      expect(error.variable).toBe('ADMIN_TOKEN');
      expect(error.message).not.toContain('tok-');
    }
  });

  it('shows the value of other variables, to help fix them', () => {
    expect(errorOf(() => load({ ETCD_EDGE_STRATEGY: 'fastest' })).message).toContain('"fastest"');
  });
});
