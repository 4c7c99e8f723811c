import { describeGatewayScenarios } from './support/gateway-scenarios.js';
import { startServeProcess } from './support/node-gateway.js';

describeGatewayScenarios({ name: 'node', start: (env) => startServeProcess(env), bigBodies: true, rawPaths: true });
