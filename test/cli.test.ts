import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, Resolver } from '../src/index.js';
import { CliProcess, cli, descendants, running } from './support/cli-process.js';
import { until } from './support/until.js';
import { enableAuth } from './support/etcd-auth.js';
import { startEtcd, type EtcdCluster } from './support/etcd-server.js';
import { freePort } from './support/ports.js';

let cluster: EtcdCluster;
let env: Record<string, string>;
const processes: CliProcess[] = [];
const resolvers: Resolver[] = [];

beforeAll(async () => {
  cluster = await startEtcd();
  env = { ETCD_ENDPOINTS: cluster.endpoints.join(',') };
});

afterEach(async () => {
  resolvers.splice(0).forEach((r) => r.close());
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

afterAll(async () => {
  await cluster?.close();
});

function start(args: string[]): CliProcess {
  const p = new CliProcess(args, env);
  processes.push(p);
  return p;
}

describe('etcd-edge command end to end', () => {
  it('register in one process, ls and watch in others, SIGTERM deregisters', async () => {
    const watcher = start(['watch', 'web']);
    await until(() => watcher.stderr.includes('watching web from revision'));
    const registrar = start(['register', 'web', 'http://127.0.0.1:8081', '--weight', '3', '--tag', 'zone=fra', '--ttl', '5']);
    await until(() => registrar.stdout.includes('registered '));
    expect(registrar.stdout).toMatch(/^registered services\/web\/127\.0\.0\.1:8081 -> http:\/\/127\.0\.0\.1:8081 \(weight 3, tags zone=fra, lease [0-9a-f]+, ttl 5s\)\n$/);
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    await etcd.put('services/web/broken', '{"Addr":"user@10.0.0.9"}');

    const ls = cli(['ls', 'web'], env);
    expect(ls.code).toBe(0);
    const [header, row] = ls.stdout.split('\n');
    expect(header).toMatch(/^SERVICE\s+INSTANCE\s+URL\s+WEIGHT\s+TAGS\s+TTL\s+LAYOUT$/);
    expect(row).toMatch(/^web\s+127\.0\.0\.1:8081\s+http:\/\/127\.0\.0\.1:8081\s+3\s+zone=fra\s+[1-5]s\s+native, lease [0-9a-f]+$/);
    expect(ls.stdout).toContain('\nskipped 1 record(s):\n  "services/web/broken" (native): address has userinfo\n');
    const json = JSON.parse(cli(['ls', '--json'], env).stdout) as { instances: { url: string; ttl: number }[]; skipped: unknown[] };
    // One form of lease ID everywhere: etcdctl's 16 hex digits.
    const lease = /lease ([0-9a-f]{16}), ttl/.exec(registrar.stdout)?.[1];
    expect(row).toContain(`native, lease ${lease}`);
    expect(json.instances).toMatchObject([{ url: 'http://127.0.0.1:8081', ttl: expect.any(Number), leaseId: lease }]);
    expect(json.skipped).toEqual([{ key: 'services/web/broken', layout: 'native', reason: 'address has userinfo' }]);
    await etcd.delete('services/web/broken');
    await etcd.put('services/web/127.0.0.1:8081', '{"Op":0,"Addr":"http://127.0.0.1:8081","Metadata":{"weight":7}}', { ignoreLease: true });

    expect(await registrar.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(registrar.stdout).toContain('deregistered services/web/127.0.0.1:8081\n');
    expect(cli(['ls', 'web'], env).stdout).toBe('no instances\n');
    await until(() => watcher.stdout.includes('- web'));
    expect(watcher.stdout).toBe(
      [
        '+ web 127.0.0.1:8081 http://127.0.0.1:8081 weight=3 tags=zone=fra layout=native',
        '! "services/web/broken" (native) skipped: address has userinfo',
        '- web broken (native)',
        '~ web 127.0.0.1:8081 http://127.0.0.1:8081 weight=7 tags=- layout=native',
        '- web 127.0.0.1:8081 (native)',
        '',
      ].join('\n'),
    );
    expect(await watcher.kill('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('escapes control and bidi characters of keys and values instead of printing them (ls, ls --json, watch, deregister, errors)', async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const watcher = start(['watch', 'evil']);
    await until(() => watcher.stderr.includes('watching evil from revision'));
    const forged = 'a\u001b[2J\nweb  10.0.0.1:80  http://10.0.0.1:80  1  -  9s  native, lease 1';
    const tags = { zone: 'fra\u001b]0;owned\u0007\u202eevil' };
    await etcd.put(`services/evil/${forged}`, JSON.stringify({ Op: 0, Addr: 'http://10.0.0.7:80', Metadata: { tags } }));
    await etcd.put('services/evil/b\u009b31m\u2028', '{"Addr":"user@10.0.0.9"}');
    await until(() => watcher.stdout.split('\n').length > 2);

    const ls = cli(['ls', 'evil'], env);
    const json = cli(['ls', 'evil', '--json'], env);
    const refused = cli(['register', 'evil', 'http://10.0.0.8:80', '--id', 'c\u001b[31m\u200b'], env);
    const gone = cli(['deregister', 'evil', forged], env);
    const none = cli(['deregister', 'evil', forged], env);
    await until(() => watcher.stdout.includes('\n- '));
    const outputs = [ls.stdout, json.stdout, watcher.stdout, refused.stderr, gone.stdout, none.stderr];
    for (const out of outputs) expect(out).toMatch(/^[\x20-\x7e\n]*$/);
    const row = 'a\\x1b[2J\\nweb  10.0.0.1:80  http://10.0.0.1:80  1  -  9s  native, lease 1';
    expect(ls.stdout.split('\n')).toEqual([
      expect.stringMatching(/^SERVICE/),
      `evil     ${row}  http://10.0.0.7:80  1       zone=fra\\x1b]0;owned\\x07\\u202eevil  no lease  native, lease -`,
      '',
      'skipped 1 record(s):',
      '  "services/evil/b\\x9b31m\\u2028" (native): address has userinfo',
      '',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ instances: [{ id: forged, tags }], skipped: [{ key: 'services/evil/b\u009b31m\u2028' }] });
    expect(watcher.stdout).toBe(
      [
        `+ evil ${row} http://10.0.0.7:80 weight=1 tags=zone=fra\\x1b]0;owned\\x07\\u202eevil layout=native`,
        '! "services/evil/b\\x9b31m\\u2028" (native) skipped: address has userinfo',
        `- evil ${row} (native)`,
        '',
      ].join('\n'),
    );
    expect(refused).toMatchObject({ code: 2, stderr: 'etcd-edge: instance id must be 1-256 printable characters, got "c\\u001b[31m\\u200b"\nsee etcd-edge --help\n' });
    expect(gone.stdout).toBe(`deregistered services/evil/${row}\n`);
    expect(none.stderr).toBe(`etcd-edge: no native instance of evil matches "${row}"\n`);
    await etcd.delete({ prefix: 'services/evil/' });
  }, 60_000);

  it('serve says where it really listens, and names a port in use and how to change it', async () => {
    const everywhere = start(['serve', '--port', '0']);
    const local = start(['serve', '--port', '0', '--host', '127.0.0.1']);
    await until(() => everywhere.stdout.includes('listening on') && local.stdout.includes('listening on'), 15_000);
    const banner = /^etcd-edge gateway listening on (http:\/\/(?:\[::\]|0\.0\.0\.0):(\d+)) \(all interfaces; on this machine (http:\/\/127\.0\.0\.1:(\d+))\)\n$/.exec(everywhere.stdout);
    expect(banner, everywhere.stdout).not.toBeNull();
    const [, wildcard, port, loopback, samePort] = banner!;
    expect(samePort).toBe(port);
    // Both URLs of the line reach it from this machine.
    for (const url of [wildcard!, loopback!]) expect((await fetch(`${url}/svc/nobody/`)).status).toBe(503);
    const localPort = /^etcd-edge gateway listening on http:\/\/127\.0\.0\.1:(\d+)\n$/.exec(local.stdout)?.[1];
    expect(localPort, local.stdout).toBeDefined();

    const change = 'stop what listens there, or choose another with --port N or PORT=N';
    expect(cli(['serve', '--port', port!], env)).toMatchObject({ code: 1, stdout: '', stderr: `etcd-edge: port ${port} is already in use: ${change}\n` });
    expect(cli(['serve'], { ...env, PORT: port! })).toMatchObject({ code: 1, stderr: `etcd-edge: port ${port} is already in use: ${change}\n` });
    expect(cli(['serve', '--port', localPort!, '--host', '127.0.0.1'], env)).toMatchObject({
      code: 1,
      stderr: `etcd-edge: port ${localPort} is already in use on 127.0.0.1: ${change}\n`,
    });
  }, 60_000);

  it('npx etcd-edge register deregisters and exits when npx is killed (npm signals only the shell it runs the command in)', async () => {
    const npx = spawn('npx', ['--offline', 'etcd-edge', 'register', 'npx-web', 'http://10.0.0.6:8080', '--ttl', '30'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npx.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    let tree: number[] = [];
    try {
      await until(() => out.includes('registered ') || npx.exitCode !== null, 40_000);
      tree = descendants(npx.pid!);
      expect(tree.length, out).toBeGreaterThan(0);
      npx.kill('SIGTERM');
      // Gone long before its 30 s lease could expire.
      await until(() => tree.every((pid) => !running(pid)), 10_000);
      expect(out).toContain('\nderegistered services/npx-web/10.0.0.6:8080\n');
      expect(cli(['ls', 'npx-web'], env).stdout).toBe('no instances\n');
    } finally {
      for (const pid of [npx.pid!, ...tree].filter(running)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  it('deregisters by URL or id and says so when nothing matches', async () => {
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    await etcd.put('kitex/registry-etcd/api/10.0.0.5:8888', '{"network":"tcp","address":"10.0.0.5:8888","weight":10,"tags":null}');
    expect(cli(['deregister', 'api', 'http://10.0.0.5:8888', '--layout', 'kitex'], env)).toMatchObject({
      code: 0,
      stdout: 'deregistered kitex/registry-etcd/api/10.0.0.5:8888\n',
    });
    expect(cli(['deregister', 'api', '10.0.0.5:8888', '--layout', 'kitex'], env)).toMatchObject({
      code: 1,
      stderr: 'etcd-edge: no kitex instance of api matches "10.0.0.5:8888"\n',
    });
  });

  it('a killed registrar vanishes within TTL + 1 s in watch mode and TTL + cacheTtl + 1 s in cache mode', async () => {
    const ttlMs = 2_000;
    const cacheTtlMs = 2_000;
    const etcd = new EtcdClient({ endpoints: cluster.endpoints });
    const watching = new Resolver({ etcd, watch: true });
    const caching = new Resolver({ etcd, cacheTtlMs, staleWhileRevalidateMs: 0 });
    resolvers.push(watching, caching);
    const registrar = start(['register', 'dies', 'http://127.0.0.1:8082', '--ttl', String(ttlMs / 1_000)]);
    await until(() => registrar.stdout.includes('registered '));
    await until(async () => (await watching.resolve('dies')).instances.length === 1);
    await until(async () => (await caching.resolve('dies')).instances.length === 1);

    await registrar.kill('SIGKILL');
    const killedAt = Date.now();
    const gone = (r: Resolver) => until(async () => (await r.resolve('dies')).instances.length === 0, 15_000).then(() => Date.now() - killedAt);
    const [watchMs, cacheMs] = await Promise.all([gone(watching), gone(caching)]);
    // etcd looks for expired leases every 500 ms; the rest is room for a loaded machine.
    expect(watchMs).toBeLessThan(ttlMs + 2_000);
    expect(cacheMs).toBeLessThan(ttlMs + cacheTtlMs + 2_000);
  });

  it('says in one line that etcd is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const line = `etcd-edge: cannot reach etcd at ${url} (connection refused)\n`;
    expect(cli(['register', 'web', 'http://127.0.0.1:8083'], { ETCD_ENDPOINTS: url })).toMatchObject({ code: 1, stderr: line });
    expect(cli(['ls', 'web'], { ETCD_ENDPOINTS: url })).toMatchObject({ code: 1, stderr: line });
  });

  it('authenticates from the environment, and a wrong password is one line that does not repeat it', async () => {
    const secured = await startEtcd();
    try {
      await enableAuth(secured.endpoints[0]!, { username: 'ops', password: 'ops-secret-1' });
      const base = { ETCD_ENDPOINTS: secured.endpoints[0]!, ETCD_USERNAME: 'ops' };
      expect(cli(['ls', 'web'], { ...base, ETCD_PASSWORD: 'ops-secret-1' })).toMatchObject({ code: 0, stdout: 'no instances\n' });
      const wrong = cli(['ls', 'web'], { ...base, ETCD_PASSWORD: 'not-the-password' });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toBe('etcd-edge: etcd rejected the username or password\n');
      expect(wrong.stderr + wrong.stdout).not.toContain('not-the-password');
    } finally {
      await secured.close();
    }
  });

  it('stops at once on SIGINT while etcd does not answer the first registration', async () => {
    let asked = 0;
    const silent = createServer(() => void asked++);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const p = new CliProcess(['register', 'web', 'http://127.0.0.1:8084'], { ETCD_ENDPOINTS: `http://127.0.0.1:${port}` });
      processes.push(p);
      // Once it is waiting on etcd (a slow machine may take a second to get there).
      await until(() => asked > 0, 15_000);
      const sent = Date.now();
      expect(await p.kill('SIGINT')).toEqual({ code: 130, signal: null });
      expect(Date.now() - sent).toBeLessThan(1_000);
      expect(p.stderr).toBe('');
    } finally {
      silent.close();
    }
  });
});
