import { RegistryError } from './errors.js';
import { isObject, MAX_WEIGHT, readTags, type Field } from './fields.js';
import { goStruct } from './go-json.js';
import { checkRegistration } from './registration.js';
import { splitKey, type KeyLayout, type ValueFields } from './layout.js';

export const DEFAULT_KITEX_PREFIX = 'kitex/registry-etcd/';
/** Kitex's resolver gives an instance with weight <= 0 its default weight. */
const KITEX_DEFAULT_WEIGHT = 10;

/**
 * Kitex's registry-etcd layout (version 1): key `kitex/registry-etcd/{service}/{host:port}`,
 * value `{"network":"tcp","address":"host:port","weight":10,"tags":{…}|null}`.
 * Kitex carries no scheme, so instances are http; weight <= 0 reads as 10.
 */
export function kitexLayout(prefix: string = DEFAULT_KITEX_PREFIX): KeyLayout {
  if (!prefix.endsWith('/')) throw new RegistryError('INVALID_LAYOUT', `kitex prefix must end with "/", got ${JSON.stringify(prefix)}`);
  return {
    name: 'kitex',
    version: 1,
    root: prefix,
    servicePrefix: (service) => `${prefix}${service}/`,
    parseKey: (key) => splitKey(key, prefix),
    readValue: readKitexValue,
    encode(registration) {
      const { address, weight, tags } = checkRegistration(registration);
      if (address.scheme !== 'http') throw new RegistryError('INVALID_REGISTRATION', 'the kitex layout stores host:port only; register https instances in the native layout');
      if (weight === 0) throw new RegistryError('INVALID_REGISTRATION', 'Kitex reads weight 0 as 10; deregister the instance to drain it');
      if (!Number.isInteger(weight)) throw new RegistryError('INVALID_REGISTRATION', 'Kitex weights are integers');
      const value = goStruct([
        ['network', 'tcp'],
        ['address', address.authority],
        ['weight', weight],
        ['tags', Object.keys(tags).length > 0 ? tags : null],
      ]);
      return { key: `${prefix}${registration.service}/${address.authority}`, value, id: address.authority };
    },
  };
}

function readKitexValue(value: unknown): Field<ValueFields> {
  if (!isObject(value)) return { ok: false, reason: 'value is not a JSON object' };
  if (value.network !== undefined && value.network !== 'tcp') return { ok: false, reason: `network ${JSON.stringify(value.network)} is not "tcp"` };
  if (typeof value.address !== 'string') return { ok: false, reason: value.address === undefined ? 'address is missing' : 'address is not a string' };
  const raw = value.weight ?? 0;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return { ok: false, reason: 'weight is not a finite number' };
  if (raw > MAX_WEIGHT) return { ok: false, reason: `weight ${raw} is above ${MAX_WEIGHT}` };
  const tags = readTags(value.tags, 'tags');
  if (!tags.ok) return tags;
  return { ok: true, value: { address: value.address, weight: raw <= 0 ? KITEX_DEFAULT_WEIGHT : raw, tags: tags.value, metadata: null } };
}
