import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_IP, closeAll, setup } from '../testing/internal/gateway.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll();
});

const A = 'http://10.0.0.1:8080';

/** The JSON lines `console.log` was given (where Workers and Lambda write the access log). */
function logged(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

describe('access log on the Web runtimes (Workers, Lambda)', () => {
  it('writes one line per request once its body is sent: client, service, instance, status, bytes, attempts', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const h = await setup({ instances: [{ service: 'orders', url: A }], env: { ETCD_EDGE_ACCESS_LOG: 'stdout' }, script: () => ({ status: 201, body: 'x'.repeat(5000) }) });
    const response = await h.request('/svc/orders/a/b?token=secret', { method: 'POST', headers: { 'x-request-id': 'r-1' } });
    // The line waits for the body: it says how much of it went out.
    expect(log).not.toHaveBeenCalled();
    expect((await response.text()).length).toBe(5000);
    const [line] = logged(log);
    expect(line).toMatchObject({ requestId: 'r-1', client: CLIENT_IP, method: 'POST', path: '/svc/orders/a/b', service: 'orders', instance: A, status: 201, bytes: 5000, attempts: 1 });
    expect(typeof line!.durationMs).toBe('number');
    expect(line!.incomplete).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('secret');
  });

  it("logs the gateway's own answers and cut-off bodies", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const h = await setup({ instances: [{ service: 'orders', url: A }], env: { ETCD_EDGE_ACCESS_LOG: 'stdout', ETCD_EDGE_SERVICES: 'orders' } });
    await h.request('/svc/other/x', { headers: { 'x-request-id': 'r-2' } });
    const unknown = logged(log).find((line) => line.requestId === 'r-2');
    expect(unknown).toMatchObject({ status: 404, service: 'other', instance: null, attempts: 0 });
    expect(unknown!.bytes).toBeGreaterThan(0);

    const cut = await h.request('/svc/orders/x', { headers: { 'x-request-id': 'r-3' } });
    await cut.body!.cancel();
    expect(logged(log).find((line) => line.requestId === 'r-3')).toMatchObject({ status: 200, incomplete: true });
  });

  it('writes nothing when off (the default)', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const h = await setup({ instances: [{ service: 'orders', url: A }] });
    await (await h.request('/svc/orders/x')).text();
    expect(log).not.toHaveBeenCalled();
  });
});
