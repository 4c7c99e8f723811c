import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { errorParts, fieldsOfRaw, fieldValue, validIp, type ClientLink, type Inbound, type Outcome, type ProxyHandler } from '../../gateway/index.js';
import { writeAnswer, writeError } from './direct-response.js';
import { pullStream } from './streams.js';

const isIpLiteral = (text: string): boolean => isIP(text) !== 0;

/** A Host field as a client may send it: a name, IPv4 or bracketed IPv6 literal, and a port. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Serves `/svc/…` straight from Node's request and response: no Web
 * `Request`, `Headers` or `AbortSignal` per request, which is most of what
 * Hono's Node adapter costs a proxy. The proxy's decisions are the same as on
 * every runtime (`createProxy`); only the reading and writing are Node's.
 */
export function nodeProxyListener(proxy: ProxyHandler, onError?: (error: unknown) => void): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  const failed = (outgoing: ServerResponse, error: unknown): void => {
    onError?.(error);
    try {
      writeError(outgoing, errorParts('INTERNAL', 'the gateway failed on this request'));
    } catch {
      outgoing.destroy();
    }
  };
  return (incoming, outgoing) => {
    const inbound = inboundOf(incoming, outgoing);
    if (typeof inbound === 'string') {
      writeError(outgoing, errorParts('BAD_REQUEST', inbound));
      return;
    }
    proxy(inbound).then(
      (outcome) => {
        try {
          send(outgoing, outcome);
        } catch (error) {
          failed(outgoing, error);
        }
      },
      (error: unknown) => failed(outgoing, error),
    );
  };
}

function send(outgoing: ServerResponse, outcome: Outcome): void {
  switch (outcome.kind) {
    case 'answer':
      return writeAnswer(outgoing, outcome.response, outcome.headers, outcome.bodyless);
    case 'error':
      return writeError(outgoing, outcome.error);
    case 'gone':
      outgoing.destroy();
  }
}

/** The request as the proxy sees it, or why it cannot be served. */
function inboundOf(incoming: IncomingMessage, outgoing: ServerResponse): Inbound | string {
  const target = incoming.url ?? '/';
  const q = target.indexOf('?');
  const fields = fieldsOfRaw(incoming.rawHeaders);
  const socket = incoming.socket;
  const host = fieldValue(fields, 'host') ?? `${socket.localAddress?.includes(':') ? `[${socket.localAddress}]` : socket.localAddress}:${socket.localPort}`;
  if (!isHost(host)) return 'the Host field is not a host name or address';
  return new NodeInbound(incoming, outgoing, target, q, fields, host);
}

/** A Node request as the proxy sees it; a class, so its methods are not closures made per request. */
class NodeInbound implements Inbound {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly fields: string[];
  readonly ip: string | undefined;
  readonly proto: string;
  readonly host: string;
  readonly zone = undefined;
  readonly hasBody: boolean;
  readonly client: ResponseLink;
  readonly waitUntil = undefined;
  readonly #incoming: IncomingMessage;

  constructor(incoming: IncomingMessage, outgoing: ServerResponse, target: string, q: number, fields: string[], host: string) {
    const socket = incoming.socket;
    const length = fieldValue(fields, 'content-length');
    this.method = incoming.method ?? 'GET';
    this.path = q === -1 ? target : target.slice(0, q);
    this.query = q === -1 ? '' : target.slice(q);
    this.fields = fields;
    this.ip = validIp(socket.remoteAddress, isIpLiteral);
    this.proto = (socket as TLSSocket).encrypted ? 'https' : 'http';
    this.host = host;
    this.hasBody = (length !== undefined && length !== '0') || fieldValue(fields, 'transfer-encoding') !== undefined;
    this.client = new ResponseLink(outgoing);
    this.#incoming = incoming;
  }

  readBody(): Promise<Uint8Array> {
    return readAll(this.#incoming);
  }

  streamBody(): ReadableStream<Uint8Array> {
    // Left to the server to drain or close if no attempt reads it.
    return pullStream(this.#incoming, () => undefined);
  }
}

/** The last Host field found good: clients ask for the same few hosts again and again. */
let lastHost = '';

function isHost(host: string): boolean {
  if (host === lastHost) return true;
  if (host.length > 255 || !HOST.test(host)) return false;
  lastHost = host;
  return true;
}

/** The client is gone when the connection closes before the answer was finished. */
class ResponseLink implements ClientLink {
  gone = false;
  #listener: (() => void) | undefined;

  constructor(outgoing: ServerResponse) {
    // A response emits 'close' once.
    outgoing.on('close', () => {
      if (outgoing.writableFinished) return;
      this.gone = true;
      const listener = this.#listener;
      this.#listener = undefined;
      listener?.();
    });
  }

  onGone(listener: () => void): () => void {
    this.#listener = listener;
    return () => {
      if (this.#listener === listener) this.#listener = undefined;
    };
  }
}

function readAll(incoming: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!incoming.complete) reject(new Error('the client went away while sending the body'));
    });
  });
}
