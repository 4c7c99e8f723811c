export * from './etcd/index.js';
export * from './registry/index.js';
