import { describe, expect, it } from 'vitest';
import { relayConfig } from './config.js';

const TOKENS = 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb';

describe('relayConfig', () => {
  it('reads tokens and defaults', () => {
    const config = relayConfig({ ETCD_EDGE_RELAY_TOKENS: TOKENS });
    expect(config.tokens).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(config.limits).toMatchObject({ ratePerSecond: 50, burst: 200, maxWaitsPerClient: 1_000, maxWaits: 20_000 });
    expect([config.maxServices, config.idleMs]).toEqual([10_000, 300_000]);
  });

  it('refuses to go without tokens, or with short ones, never echoing them', () => {
    expect(() => relayConfig({})).toThrow(/^ETCD_EDGE_RELAY_TOKENS: .*will not start/);
    expect(() => relayConfig({ ETCD_EDGE_RELAY_TOKENS: 'short-secret' })).toThrow(/^ETCD_EDGE_RELAY_TOKENS: expected/);
    expect(() => relayConfig({ ETCD_EDGE_RELAY_TOKENS: 'short-secret' })).not.toThrow(/short-secret/);
  });

  it('names a bad limit', () => {
    expect(() => relayConfig({ ETCD_EDGE_RELAY_TOKENS: TOKENS, ETCD_EDGE_RELAY_RATE: '0' })).toThrow(/^ETCD_EDGE_RELAY_RATE: must be at least 1/);
    expect(() => relayConfig({ ETCD_EDGE_RELAY_TOKENS: TOKENS, ETCD_EDGE_RELAY_IDLE_MS: 'soon' })).toThrow(/^ETCD_EDGE_RELAY_IDLE_MS: expected a whole number/);
  });
});
