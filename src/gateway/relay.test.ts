import { afterEach, describe, expect, it } from 'vitest';
import type { Instance } from '../registry/index.js';
import { FakeRelay } from '../testing/index.js';
import { ConfigError, loadConfig, type Env, type RuntimeDefaults } from './config.js';
import { CLIENT_IP, errorOf, FakeUpstream } from '../testing/internal/gateway.js';
import { createGateway, type Gateway } from '../http/index.js';

const TOKEN = 'relay-token-0123456789';
const ADMIN = 'admin-token-0123456789';
const NODE: RuntimeDefaults = { watch: true, ipLiterals: 'allow', endpoints: 'http://127.0.0.1:2379' };
const WORKER: RuntimeDefaults = { watch: false, watchable: false, ipLiterals: 'loopback-only' };
const gateways: Gateway[] = [];
afterEach(async () => void (await Promise.all(gateways.splice(0).map((g) => g.close()))));

function instance(id: string, url: string): Instance {
  return { service: 'orders', id, url, weight: 1, tags: {}, metadata: null, key: `services/orders/${id}`, layout: 'native', revision: 3 };
}

function configError(env: Env, defaults = NODE): ConfigError {
  try {
    loadConfig(env, defaults);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('relay configuration', () => {
  it('reads ETCD_EDGE_RELAY_URL and its token; etcd endpoints are then neither required nor defaulted', () => {
    const config = loadConfig({ ETCD_EDGE_RELAY_URL: 'https://relay-a.example:8790, http://relay-b.example:8790/', ETCD_EDGE_RELAY_TOKEN: TOKEN }, NODE);
    expect(config.relay).toEqual({ urls: ['https://relay-a.example:8790', 'http://relay-b.example:8790/'], token: TOKEN });
    expect(config.etcd.endpoints).toEqual([]);
    // Node's default: watch mode, a long-poll per held service.
    expect(config.watch).toBe(true);
    expect(loadConfig({ ETCD_ENDPOINTS: 'http://etcd:2379' }, NODE).relay).toBeUndefined();
  });

  it('refuses a relay without its token, a token without a relay, userinfo in a URL, and watch mode where processes are short-lived', () => {
    expect(configError({ ETCD_EDGE_RELAY_URL: 'http://relay:8790' }).message).toBe('ETCD_EDGE_RELAY_TOKEN: is required with ETCD_EDGE_RELAY_URL');
    expect(configError({ ETCD_ENDPOINTS: 'http://etcd:2379', ETCD_EDGE_RELAY_TOKEN: TOKEN }).variable).toBe('ETCD_EDGE_RELAY_TOKEN');
    const userinfo = configError({ ETCD_EDGE_RELAY_URL: 'http://user:hunter2@relay:8790', ETCD_EDGE_RELAY_TOKEN: TOKEN });
    expect(userinfo.variable).toBe('ETCD_EDGE_RELAY_URL');
    expect(userinfo.message).not.toContain('hunter2');
    expect(configError({ ETCD_EDGE_RELAY_URL: 'http://relay:8790', ETCD_EDGE_RELAY_TOKEN: TOKEN, ETCD_EDGE_WATCH: 'on' }, WORKER).variable).toBe('ETCD_EDGE_WATCH');
    expect(loadConfig({ ETCD_EDGE_RELAY_URL: 'http://relay:8790', ETCD_EDGE_RELAY_TOKEN: TOKEN, ETCD_EDGE_WATCH: 'on' }, NODE).watch).toBe(true);
    expect(configError({}, WORKER).message).toMatch(/^ETCD_ENDPOINTS: is required/);
  });

  it('never echoes the token', () => {
    const error = configError({ ETCD_EDGE_RELAY_URL: 'http://relay:8790', ETCD_EDGE_RELAY_TOKEN: 'short secret' });
    expect(error.variable).toBe('ETCD_EDGE_RELAY_TOKEN');
    expect(error.message).not.toContain('short secret');
  });
});

describe('a gateway reading a relay', () => {
  function start(relay: FakeRelay, env: Env = {}) {
    const config = loadConfig({ ETCD_EDGE_RELAY_URL: 'http://relay.test', ETCD_EDGE_RELAY_TOKEN: TOKEN, ADMIN_TOKEN: ADMIN, ...env }, WORKER);
    const upstream = new FakeUpstream();
    const etcdCalls: string[] = [];
    const gateway = createGateway({
      config,
      upstream,
      hooks: { clientIp: () => CLIENT_IP },
      etcdFetch: (input) => Promise.reject(new Error(`etcd called: ${etcdCalls.push(input)}`)),
      relayFetch: relay.fetch,
    });
    gateways.push(gateway);
    return { gateway, upstream, etcdCalls };
  }
  const health = async (gateway: Gateway) => (await gateway.app.request('/_edge/health', { headers: { authorization: `Bearer ${ADMIN}` } })).json();

  it('routes to the instances the relay serves, never calling etcd, and applies the address policy', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    relay.set('orders', [instance('a', 'http://orders.internal:8080'), instance('meta', 'http://169.254.169.254:80')]);
    const { gateway, upstream, etcdCalls } = start(relay);
    for (let i = 0; i < 5; i++) expect((await gateway.app.request('/svc/orders/items')).status).toBe(200);
    expect(new Set(upstream.sent.map((s) => s.origin))).toEqual(new Set(['http://orders.internal:8080']));
    expect(etcdCalls).toEqual([]);
  });

  it('answers 503 ETCD_UNAVAILABLE when the relay cannot be read and nothing is held, without naming the relay', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    relay.down = true;
    const { gateway } = start(relay);
    const response = await gateway.app.request('/svc/orders/items');
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('ETCD_UNAVAILABLE');
    expect(JSON.stringify(error)).not.toContain('relay.test');
  });

  it('reports the relay in /_edge/health instead of etcd', async () => {
    const relay = new FakeRelay({ token: TOKEN });
    relay.set('orders', [instance('a', 'http://orders.internal:8080')]);
    const { gateway } = start(relay);
    expect(await health(gateway)).toMatchObject({ status: 'ok', relay: { reachable: true, urls: 1, urlsDown: 0 } });
    await gateway.app.request('/svc/orders/items');
    const answered304 = relay.answers.get(304) ?? 0;
    expect(await health(gateway)).toMatchObject({ status: 'ok', relay: { reachable: true }, services: [{ service: 'orders', instances: 1 }] });
    expect(relay.answers.get(304)).toBe(answered304 + 1);
    relay.down = true;
    const down = await health(gateway);
    expect(down).toMatchObject({ status: 'degraded', relay: { reachable: false, error: 'RELAY_UNAVAILABLE', reason: 'RELAY_UNAVAILABLE', urlsDown: 1 } });
    expect(down).not.toHaveProperty('etcd');
  });
});
