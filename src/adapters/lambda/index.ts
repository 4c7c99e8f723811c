export { handler } from './handler.js';
export { streamHandler, type StreamingHandler } from './stream-handler.js';
