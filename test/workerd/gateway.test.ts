import { describeGatewayScenarios } from '../support/gateway-scenarios.js';
import { startTestWorker } from '../support/workerd.js';

let started = 0;

describeGatewayScenarios({
  name: 'workerd',
  // workerd strips `Connection` (and so cannot say which fields it named) before the Worker runs.
  seesConnection: false,
  async start(env) {
    const worker = await startTestWorker(`etcd-edge-gateway-${++started}`, new URL('../../src/adapters/worker/index.ts', import.meta.url), env);
    const url = await worker.url;
    return { url: url.origin, close: () => worker.dispose() };
  },
});
