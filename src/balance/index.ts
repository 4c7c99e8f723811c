export { Balancer } from './balancer.js';
export { MAX_TAG_PAIRS, MAX_TAGS_LENGTH, parseTags } from './tags.js';
export {
  STRATEGY_NAMES,
  type Attempt,
  type BalancerOptions,
  type EjectionOptions,
  type EjectionState,
  type Outcome,
  type PickRequest,
  type StrategyName,
} from './types.js';
