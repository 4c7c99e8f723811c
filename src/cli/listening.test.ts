import { describe, expect, it } from 'vitest';
import { listenFailure, listeningLine } from './listening.js';

describe('listeningLine', () => {
  it('says where it really listens, and how to reach every interface from this machine', () => {
    expect(listeningLine('http://127.0.0.1:8787')).toBe('etcd-edge gateway listening on http://127.0.0.1:8787');
    expect(listeningLine('http://[::]:8787')).toBe('etcd-edge gateway listening on http://[::]:8787 (all interfaces; on this machine http://127.0.0.1:8787)');
    expect(listeningLine('http://0.0.0.0:80')).toBe('etcd-edge gateway listening on http://0.0.0.0:80 (all interfaces; on this machine http://127.0.0.1:80)');
  });
});

describe('listenFailure', () => {
  const failure = (code: string, address: string, port: number) => Object.assign(new Error(`listen ${code}: ${address}:${port}`), { code, address, port });

  it('names the port and how to change it', () => {
    expect((listenFailure(failure('EADDRINUSE', '::', 8787), 8787) as Error).message).toBe(
      'port 8787 is already in use: stop what listens there, or choose another with --port N or PORT=N',
    );
    expect((listenFailure(failure('EADDRINUSE', '127.0.0.1', 9090), 8787) as Error).message).toBe(
      'port 9090 is already in use on 127.0.0.1: stop what listens there, or choose another port',
    );
    expect((listenFailure(failure('EACCES', '0.0.0.0', 80), 80) as Error).message).toBe(
      'no permission to listen on port 80 (ports below 1024 need privileges): choose another with --port N or PORT=N',
    );
    expect((listenFailure(failure('EADDRNOTAVAIL', '10.9.9.9', 8787), 8787) as Error).message).toBe(
      'cannot listen on 10.9.9.9: not an address of this machine; check --host',
    );
  });

  it('passes other errors through', () => {
    const other = new Error('boom');
    expect(listenFailure(other, 8787)).toBe(other);
    expect(listenFailure(undefined, 8787)).toBe(undefined);
  });
});
