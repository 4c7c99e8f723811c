export { Resolver, type ResolveOptions, type ResolverStats } from './resolver.js';
export type { ResolverOptions } from './resolver-options.js';
export type { Snapshot } from './snapshot.js';
