export * from './etcd/index.js';
export * from './registry/index.js';
export * from './discovery/index.js';
