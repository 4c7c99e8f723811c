import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { exposedServices, serviceListProblem } from './exposed-services.js';
import { closeAll, errorOf, setup } from '../testing/internal/gateway.js';

afterEach(closeAll);

describe('ETCD_EDGE_SERVICES', () => {
  it('matches names exactly and prefix* patterns by prefix; * or no list routes everything', () => {
    const exposed = exposedServices(['api', 'web-*']);
    expect(['api', 'web-', 'web-eu'].filter(exposed)).toEqual(['api', 'web-', 'web-eu']);
    expect(['ap', 'api2', 'web', 'billing', 'Api'].filter(exposed)).toEqual([]);
    expect(exposedServices(undefined)('billing')).toBe(true);
    expect(exposedServices(['api', '*'])('billing')).toBe(true);
  });

  it('refuses entries that are not names or patterns, naming the entry', () => {
    expect(serviceListProblem('api, web-*')).toBeUndefined();
    expect(serviceListProblem('api,*web')).toMatch(/"\*web" is not a service name/);
    expect(serviceListProblem('api,,web')).toMatch(/"" is not/);
    expect(() => loadConfig({ ETCD_ENDPOINTS: 'http://e:2379', ETCD_EDGE_SERVICES: 'a/b' }, { watch: false, ipLiterals: 'allow' })).toThrow(/ETCD_EDGE_SERVICES/);
    expect(loadConfig({ ETCD_ENDPOINTS: 'http://e:2379', ETCD_EDGE_SERVICES: ' api , web-* ' }, { watch: false, ipLiterals: 'allow' }).services).toEqual(['api', 'web-*']);
  });

  it('answers 404 for a service off the list without asking etcd, and routes the listed ones', async () => {
    const h = await setup({
      instances: [{ service: 'orders', url: 'http://10.0.0.1:8080' }, { service: 'internal-billing', url: 'http://10.0.0.2:8080' }],
      env: { ETCD_EDGE_SERVICES: 'orders,public-*' },
    });
    const ranges = h.etcd.calls.get('/v3/kv/range');
    const hidden = await h.request('/svc/internal-billing/');
    expect(hidden.status).toBe(404);
    expect(await errorOf(hidden)).toMatchObject({ code: 'NOT_FOUND' });
    expect(h.etcd.calls.get('/v3/kv/range')).toBe(ranges);
    expect((await h.request('/svc/orders/')).status).toBe(200);
    expect(h.upstream.origins).toEqual(['http://10.0.0.1:8080']);
  });
});
