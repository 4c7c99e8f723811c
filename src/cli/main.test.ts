import { describe, expect, it } from 'vitest';
import { main } from './main.js';

function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('etcd-edge CLI', () => {
  it('prints its version and help', () => {
    expect(run(['--version']).out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: etcd-edge');
  });

  it('exits non-zero with a one-line reason and the usage on an unknown command', () => {
    const bad = run(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toBe('etcd-edge: unknown command "frobnicate"');
    expect(bad.err).toContain('Usage: etcd-edge');
  });
});
