import { expect, it } from 'vitest';
import { RegistrationConflictError } from './errors.js';

it('a registration conflict names the holding lease in hex', () => {
  expect(new RegistrationConflictError('services/orders/a', '7587855479459487233').message).toBe(
    'services/orders/a is already registered by another process (lease 694d7a5b3c2f1e01); use another id or stop that process',
  );
});
