import { readEndpointValue, writeEndpointValue } from './endpoint-value.js';
import { RegistryError } from './errors.js';
import { instanceId, checkRegistration } from './registration.js';
import { splitKey, type KeyLayout } from './layout.js';

export const DEFAULT_NATIVE_PREFIX = 'services/';

/**
 * etcd-edge's own layout (version 1): key `{prefix}{service}/{id}`, value
 * `{"Op":0,"Addr":"http://10.0.0.5:8080","Metadata":{"tags":{…},"weight":5}}`.
 * The value is etcd's `naming/endpoints` record with a full URL in `Addr`, so
 * Go's etcd resolver on target `{prefix}{service}` reads it.
 */
export function nativeLayout(prefix: string = DEFAULT_NATIVE_PREFIX): KeyLayout {
  if (prefix !== '' && !prefix.endsWith('/')) {
    throw new RegistryError('INVALID_LAYOUT', `native prefix must be empty or end with "/", got ${JSON.stringify(prefix)}`);
  }
  return {
    name: 'native',
    version: 1,
    root: prefix === '' ? undefined : prefix,
    servicePrefix: (service) => `${prefix}${service}/`,
    parseKey: (key) => splitKey(key, prefix),
    readValue: (value) => readEndpointValue(value, true),
    encode(registration) {
      const { address, weight } = checkRegistration(registration);
      const id = instanceId(registration, address);
      return { key: `${prefix}${registration.service}/${id}`, value: writeEndpointValue(address.url, registration, weight), id };
    },
  };
}
