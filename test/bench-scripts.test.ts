import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The benchmarks are not run under npm test (they take an hour and need wrk,
// nginx and valgrind), so a typo in one would only show at the next
// `npm run bench`. This keeps them at least loadable.
const BENCH = new URL('../bench/', import.meta.url).pathname;
const scripts = (dir: string): string[] => readdirSync(join(BENCH, dir)).filter((f) => f.endsWith('.mjs')).map((f) => join(BENCH, dir, f));

describe('bench/', () => {
  it('has scripts, proxies, instances and load generators that parse', () => {
    const files = [...scripts('.'), ...scripts('proxies'), ...scripts('lib'), ...scripts('instances'), ...scripts('load')];
    expect(files.length).toBeGreaterThan(10);
    // Named so that removing or renaming one fails here, not at the next run.
    for (const name of ['compare.mjs', 'scale.mjs', 'grpc.mjs', 'websocket.mjs', 'cores.mjs', 'workerd.mjs', 'workerd-profile.mjs']) expect(files, name).toContain(join(BENCH, '.', name));
    for (const file of files) {
      const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      expect(check.status, `${file}: ${check.stderr}`).toBe(0);
    }
  });

  it('has helper modules that import (their dependencies resolve, nothing runs)', async () => {
    for (const file of scripts('lib')) {
      const module = (await import(file)) as Record<string, unknown>;
      expect(Object.keys(module).length, file).toBeGreaterThan(0);
    }
  });

  // bench/lib/workerd.mjs writes the workerd config `npm run bench:workerd` and the workerd rows of
  // `npm run bench` run on: the dry-run bundle with its vars and hub, loopback reachable.
  it('serves the Worker and the passthrough from generated workerd configs, each answering a proxied request', async () => {
    type Started = { url: string; stop(): Promise<void> };
    const etcdLib = (await import(join(BENCH, 'lib/etcd.mjs'))) as {
      startEtcd(): Promise<{ url: string; stop(): Promise<void> }>;
      registerInstances(etcdUrl: string, service: string, urls: string[], count: number): Promise<void>;
    };
    const workerd = (await import(join(BENCH, 'lib/workerd.mjs'))) as {
      startWorkerdGateway(o: { etcdUrl: string; ready: string }): Promise<Started>;
      startWorkerdPassthrough(o: { backend: string }): Promise<Started>;
    };
    const backend = createServer((req, res) => res.end(`backend saw ${req.url}`));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const etcd = await etcdLib.startEtcd();
    const started: Started[] = [];
    try {
      await etcdLib.registerInstances(etcd.url, 'bench', [origin], 1);
      const gateway = await workerd.startWorkerdGateway({ etcdUrl: etcd.url, ready: '/svc/bench/' });
      started.push(gateway);
      const bare = await workerd.startWorkerdPassthrough({ backend: origin });
      started.push(bare);
      const viaGateway = await fetch(`${gateway.url}/svc/bench/a?b=1`);
      expect(viaGateway.headers.get('via')).toMatch(/etcd-edge/);
      expect(await viaGateway.text()).toBe('backend saw /a?b=1');
      expect(await (await fetch(`${bare.url}/a?b=1`)).text()).toBe('backend saw /a?b=1');
    } finally {
      for (const s of started) await s.stop();
      await etcd.stop();
      backend.close();
    }
  }, 30_000);
});
