import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeEtcd } from '../testing/index.js';
import { EtcdClient } from '../etcd/index.js';
import { nativeLayout } from '../registry/index.js';
import { createGateway } from '../http/index.js';
import { loadConfig } from './config.js';
import { FakeUpstream } from '../testing/internal/gateway.js';

const BLACKHOLE = 'http://blackhole.invalid:2379';

afterEach(() => vi.restoreAllMocks());

describe('a service read failing over to another etcd endpoint', () => {
  it('is not cut short by the shared-read bound: a cold lookup behind a silent first endpoint still routes', async () => {
    const etcd = new FakeEtcd();
    const record = nativeLayout().encode({ service: 'orders', url: 'http://10.0.0.1:8080' });
    await new EtcdClient({ endpoints: etcd.endpoints, fetch: etcd.fetch }).put(record.key, record.value);
    // The silent endpoint first: it answers nothing until the client's 5 s timeout aborts the attempt.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const gateway = createGateway({
      config: loadConfig({ ETCD_ENDPOINTS: `${BLACKHOLE},${etcd.endpoints[0]}` }, { watch: false, ipLiterals: 'allow' }),
      upstream: new FakeUpstream(),
      hooks: { clientIp: () => '203.0.113.9' },
      etcdFetch: (input, init) => {
        if (!String(input).startsWith(BLACKHOLE)) return etcd.fetch(input, init);
        return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason), { once: true }));
      },
    });
    try {
      const response = await gateway.app.request('/svc/orders/x');
      expect(response.status).toBe(200);
    } finally {
      await gateway.close();
      etcd.close();
    }
  }, 15_000);
});
