import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend } from './support/backend.js';
import { CliProcess } from './support/cli-process.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { freePort } from './support/ports.js';
import { startServeProcess } from './support/node-gateway.js';
import { until } from './support/until.js';

const TOKEN = 'dashboard-token-0123456789';
const CHROMIUM = process.env.CHROMIUM_BIN ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
/** Screenshots of the run, kept as CI artifacts (git ignores test/output/). */
const OUTPUT = join(import.meta.dirname, 'output');

/**
 * The dashboard in a real browser (Debian's Chromium, headless, driven by
 * puppeteer-core) against `etcd-edge serve` on a real etcd: sign in, see
 * services come and go live as `etcd-edge register` starts and stops, see an
 * ejected instance marked.
 */
describe('dashboard in a browser', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let gateway: Awaited<ReturnType<typeof startServeProcess>>;
  let browser: Browser;
  let page: Page;
  const registrations: CliProcess[] = [];

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('Chromium not found: install Debian\'s chromium (apt-get install -y chromium) or set CHROMIUM_BIN');
    [cluster, backend] = await Promise.all([startEtcd(), Backend.start('web-1')]);
    gateway = await startServeProcess({ ETCD_ENDPOINTS: cluster.endpoints.join(','), ADMIN_TOKEN: TOKEN, ETCD_EDGE_ALLOW_LOOPBACK: 'true', ETCD_EDGE_EJECT_AFTER: '2' });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720 });
  }, 60_000);

  afterAll(async () => {
    for (const registration of registrations) await registration.kill('SIGTERM');
    await browser?.close();
    await gateway?.close();
    await Promise.all([cluster?.close(), backend?.close()]);
  }, 30_000);

  function register(service: string, url: string, id: string): CliProcess {
    const registration = new CliProcess(['register', service, url, '--id', id, '--ttl', '5'], { ETCD_ENDPOINTS: cluster.endpoints.join(',') });
    registrations.push(registration);
    return registration;
  }

  /** Requests through the gateway, so that the gateway holds the service (it shows what it has been asked for). */
  async function ask(service: string, times = 1): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await fetch(`${gateway.url}/svc/${service}/ping`)).status);
    return statuses;
  }

  it('signs in with the token, then shows services appear and go live, and an ejected instance marked', async () => {
    await page.goto(`${gateway.url}/_edge/`);
    await page.type('input[name=token]', TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('button')]);
    const cookies = await page.cookies();
    expect(cookies.find((c) => c.name === 'etcd_edge_admin')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/_edge/' });

    // A service registered with the CLI appears without a reload.
    const web = register('web', backend.url, 'web-1');
    await until(async () => (await ask('web'))[0] === 200, 15_000);
    await page.waitForSelector('tr[data-service="web"]', { timeout: 15_000 });

    // Beside a good one, an instance that refuses connections is ejected after two failures, and marked on the service's page.
    const deadPort = await freePort();
    register('shop', backend.url, 'good-1');
    register('shop', `http://127.0.0.1:${deadPort}`, 'dead-1');
    await until(async () => {
      await ask('shop', 4);
      const health = (await (await fetch(`${gateway.url}/_edge/services/shop`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { instances: { ejection?: { ejectedUntil?: number } }[] };
      return health.instances.some((i) => i.ejection?.ejectedUntil !== undefined);
    }, 15_000);
    await page.goto(`${gateway.url}/_edge/?service=shop`);
    await page.waitForSelector('tr.ejected[data-instance="dead-1"]', { timeout: 15_000 });
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-service.png') });

    // The registration stops (deregisters): the service leaves the overview live, without a reload.
    await page.goto(`${gateway.url}/_edge/`);
    await page.waitForSelector('tr[data-service="web"]');
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png') });
    await web.kill('SIGTERM');
    await page.waitForSelector('tr[data-service="web"]', { hidden: true, timeout: 20_000 });

    // Signed out, the dashboard asks for the token again.
    await Promise.all([page.waitForNavigation(), page.click('header button')]);
    expect(await page.$('input[name=token]')).not.toBeNull();
  }, 90_000);
});
