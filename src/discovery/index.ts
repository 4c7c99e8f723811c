export { RegistrationConflictError } from './errors.js';
export { leaseIdHex } from '../etcd/index.js';
export { loadService, type LoadedService } from './load.js';
export { register } from './registrar.js';
export type { LossReason, RegisteredInstance, RegisterOptions, RegistrarEvent, RegistrationState, RetryOptions } from './registrar-types.js';
export { Resolver, type ResolveOptions, type ResolverStats, type ServiceStatus } from './resolver.js';
export type { ResolverOptions } from './resolver-options.js';
export { buildSnapshot, type Snapshot } from './snapshot.js';
