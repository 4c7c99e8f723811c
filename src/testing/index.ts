export { FakeEtcd, type FakeEtcdOptions } from './fake-etcd.js';
export type { FakeAuthOptions } from './fake-auth.js';
export type { EndpointFaults } from './fake-faults.js';
export { etcdHandlers } from './msw.js';
export { FakeRelay } from './fake-relay.js';
