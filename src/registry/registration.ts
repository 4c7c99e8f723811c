import { parseAddress, type Address } from './address.js';
import { RegistryError } from './errors.js';
import { MAX_WEIGHT } from './fields.js';
import type { Registration } from './instance.js';
import { assertServiceName } from './service-name.js';

/** A registration whose fields were checked. */
export interface CheckedRegistration {
  address: Address;
  weight: number;
  tags: Readonly<Record<string, string>>;
}

/**
 * Checks what every layout needs: a valid service name, address, weight and tags.
 * @throws {RegistryError}
 */
export function checkRegistration(registration: Registration): CheckedRegistration {
  assertServiceName(registration.service);
  const parsed = parseAddress(registration.url);
  if (!parsed.ok) throw new RegistryError('INVALID_ADDRESS', `invalid instance URL ${JSON.stringify(registration.url)}: ${parsed.reason}`);
  const weight = registration.weight ?? 1;
  if (!Number.isFinite(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new RegistryError('INVALID_REGISTRATION', `weight must be a number from 0 to ${MAX_WEIGHT}, got ${weight}`);
  }
  const tags = registration.tags ?? {};
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string' || k.length === 0) throw new RegistryError('INVALID_REGISTRATION', `tag ${JSON.stringify(k)} must be a non-empty name with a string value`);
  }
  return { address: parsed.address, weight: weight + 0, tags }; // + 0 turns -0 into 0
}

/**
 * Control characters (C0, DEL, C1), and the invisible ones that reorder or hide
 * text (bidi overrides and isolates, zero-width characters, line separators,
 * BOM): an id made of them would read as another id in a terminal or a log.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;

/** The id part of a key: given, or `host:port`; never empty and never containing a control or invisible character. */
export function instanceId(registration: Registration, address: Address): string {
  const id = registration.id ?? address.authority;
  if (id.length === 0 || id.length > 256 || UNPRINTABLE.test(id)) {
    throw new RegistryError('INVALID_REGISTRATION', `instance id must be 1-256 printable characters, got ${JSON.stringify(id)}`);
  }
  return id;
}
