import { expect, it } from 'vitest';
import { EtcdLeaseNotFoundError } from './errors.js';
import { leaseIdHex } from './lease-id.js';

it('shows lease IDs as etcdctl does: 16 hex digits, zero-padded', () => {
  expect(leaseIdHex('7587855479459487233')).toBe('694d7a5b3c2f1e01');
  expect(leaseIdHex('255')).toBe('00000000000000ff');
  expect(leaseIdHex('not-an-id')).toBe('not-an-id');
});

it('a lease-not-found error names the lease in hex, and keeps the decimal id for code', () => {
  const error = new EtcdLeaseNotFoundError('7587855479459487233');
  expect(error.message).toBe('lease 694d7a5b3c2f1e01 not found (expired or revoked)');
  expect(error.leaseId).toBe('7587855479459487233');
});
