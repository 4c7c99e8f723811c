import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const NODE = { watch: true, ipLiterals: 'allow' } as const;

describe('ETCD_ENDPOINTS on a port fetch refuses', () => {
  it('is refused when the config is read, saying why and what to do', () => {
    for (const [endpoints, port] of [['http://127.0.0.1:6000', 6000], ['http://etcd-a:2379, https://etcd-b:1', 1]] as const) {
      let error: unknown;
      try {
        loadConfig({ ETCD_ENDPOINTS: endpoints }, NODE);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('ETCD_ENDPOINTS');
      expect((error as Error).message).toContain(`ETCD_ENDPOINTS: fetch refuses to connect to port ${port}, a "bad port" in the Fetch standard; use another port`);
    }
  });

  it('leaves ordinary and default ports alone', () => {
    expect(loadConfig({ ETCD_ENDPOINTS: 'http://etcd:2379,https://etcd,http://etcd:6001' }, NODE).etcd.endpoints).toHaveLength(3);
  });
});
