import { expect, it } from 'vitest';
import { RegistrationConflictError } from './errors.js';
import { leaseIdHex } from './lease-id.js';

it('shows lease IDs as etcdctl does: 16 hex digits, zero-padded', () => {
  expect(leaseIdHex('7587855479459487233')).toBe('694d7a5b3c2f1e01');
  expect(leaseIdHex('255')).toBe('00000000000000ff');
  expect(leaseIdHex('not-an-id')).toBe('not-an-id');
});

it('a registration conflict names the holding lease in hex', () => {
  expect(new RegistrationConflictError('services/orders/a', '7587855479459487233').message).toBe(
    'services/orders/a is already registered by another process (lease 694d7a5b3c2f1e01); use another id or stop that process',
  );
});
