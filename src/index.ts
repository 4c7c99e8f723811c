export * from './etcd/index.js';
