export { EtcdProbe, type EtcdHealth } from './health.js';
export { RelayMetrics, type RateLimitReason, type RelayRoute, type RelayState } from './metrics.js';
export { PollSlots, RateLimiter, type RateLimitOptions } from './limiter.js';
export { DEFAULT_LIMITS, MAX_WAIT_MS, type RelayLimits, type RelayOptions } from './options.js';
export { bodyOf, Publications, type Published } from './published.js';
export { SnapshotRelay } from './relay.js';
export { bearerAllowed } from './tokens.js';
export { Waiters, type WaitersOptions } from './waiters.js';
export { relayConfig, RELAY_ENV_SCHEMA, type RelayConfig } from './config.js';
