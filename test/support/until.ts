// One polling helper for unit and integration tests alike; it lives with the unit tests' support.
export { until } from '../../src/testing/internal/until.js';
