import { readEndpointValue, writeEndpointValue } from './endpoint-value.js';
import { checkRegistration } from './registration.js';
import { splitKey, type KeyLayout } from './layout.js';

/**
 * etcd's gRPC naming layout (version 1), as written by Go's `GRPCResolver.Update`,
 * the `naming/endpoints` manager or `etcdctl put my-service/1.2.3.4 '{"Addr":"1.2.3.4"}'`:
 * key `{service}/{addr}`, value `{"Op":0,"Addr":"host:port","Metadata":…}`.
 * `Addr` is `host:port` for http; an https instance keeps its scheme.
 */
export function grpcNamingLayout(): KeyLayout {
  return {
    name: 'grpc-naming',
    version: 1,
    root: undefined,
    servicePrefix: (service) => `${service}/`,
    parseKey: (key) => splitKey(key, ''),
    readValue: (value) => readEndpointValue(value, false),
    encode(registration) {
      const { address, weight } = checkRegistration(registration);
      const addr = address.scheme === 'http' ? address.authority : address.url;
      return { key: `${registration.service}/${addr}`, value: writeEndpointValue(addr, registration, weight), id: addr };
    },
  };
}
