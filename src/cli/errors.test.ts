import { expect, it } from 'vitest';
import { EtcdLeaseNotFoundError } from '../etcd/index.js';
import { describeError } from './errors.js';

it('names a lease in hex, as etcdctl, ls and register do', () => {
  expect(describeError(new EtcdLeaseNotFoundError('7587855479459487233'), ['http://127.0.0.1:2379'])).toBe(
    'etcd: lease 694d7a5b3c2f1e01 not found (expired or revoked)',
  );
});
