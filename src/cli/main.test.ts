import { describe, expect, it } from 'vitest';
import { main } from './main.js';

async function run(argv: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) }, env });
  return { code, out, err };
}

describe('etcd-edge CLI arguments', () => {
  it('prints its version and help', async () => {
    expect((await run(['--version'])).out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: etcd-edge');
    expect((await run(['ls', '--help'])).code).toBe(0);
  });

  it.each([
    [['frobnicate'], 'etcd-edge: unknown command "frobnicate"; commands: register, deregister, ls, watch, serve, relay'],
    [['register', 'orders'], 'etcd-edge: register takes <service> <url>'],
    [['register', 'orders', 'http://1.2.3.4', '--weight', '-1'], 'etcd-edge: --weight must be a number from 0 to 1000000, got "-1"'],
    [['register', 'orders', 'http://1.2.3.4', '--ttl', '-5'], 'etcd-edge: --ttl must be a whole number from 1 to 86400, got "-5"'],
    [['serve', '--port', '-.5'], 'etcd-edge: --port: expected a whole number (got "-.5")'],
    [['register', 'orders', 'http://1.2.3.4', '--weight'], 'etcd-edge: --weight needs a value'],
    [['ls', '--etcd', '--json'], 'etcd-edge: --etcd needs a value; for a value that starts with "-", write --etcd=VALUE'],
    [['ls', '--json=yes'], 'etcd-edge: --json takes no value'],
    [['register', 'orders', 'http://1.2.3.4', '--weight=abc'], 'etcd-edge: --weight must be a number from 0 to 1000000, got "abc"'],
    [['register', 'orders', 'http://1.2.3.4', '--ttl', '1.5'], 'etcd-edge: --ttl must be a whole number from 1 to 86400, got "1.5"'],
    [['register', 'orders', 'http://1.2.3.4', '--tag', 'novalue'], 'etcd-edge: --tag takes key=value, got "novalue"'],
    [['register', 'orders', 'http://1.2.3.4', '--layout', 'consul'], 'etcd-edge: unknown layout "consul": use native, grpc-naming, kitex'],
    [['ls', '--weight', '3'], 'etcd-edge: --weight is not an option of ls'],
    [['ls', '--bogus'], 'etcd-edge: unknown option --bogus'],
    [['ls', '--user', 'root'], 'etcd-edge: --user and --password go together'],
  ])('%j exits 2 with one line and a pointer to --help, not the whole usage', async (argv, line) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toBe(`${line}\nsee etcd-edge --help\n`);
  });

  it('treats a name or URL no layout can hold as a bad argument', async () => {
    const bad = await run(['ls', 'a/b']);
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toMatch(/^etcd-edge: invalid service name "a\/b": use 1-128 characters/);
    expect((await run(['register', 'orders', 'http://user@10.0.0.1'])).err.split('\n')[0]).toBe(
      'etcd-edge: invalid instance URL "http://user@10.0.0.1": address has userinfo',
    );
  });

  it('exits 130 and says nothing when interrupted', async () => {
    // An interrupted run failed because the user stopped it: nothing to explain. (An unreachable etcd is test/cli.test.ts's.)
    let err = '';
    const code = await main(['ls', 'orders'], { err: { write: (s: string) => (err += s) }, env: { ETCD_ENDPOINTS: 'http://127.0.0.1:9' }, signal: AbortSignal.abort() });
    expect({ code, err }).toEqual({ code: 130, err: '' });
  });
});
