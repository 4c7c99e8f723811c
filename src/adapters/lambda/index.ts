export { handler } from './handler.js';
export { streamHandler, type StreamingHandler } from './stream-handler.js';
export { lambdaEdge } from './embed.js';
export { etcdEdge, middlewareOf, type Edge, type EdgeOptions } from '../../http/index.js';
