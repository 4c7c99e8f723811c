import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { isIP } from 'node:net';
import { errorParts, fieldValue, isGrpcContentType, validIp, type ProxyHandler } from '../../gateway/index.js';
import { GrpcExchange, writeGrpcError } from './grpc-exchange.js';
import type { GrpcWebEdge } from './grpc-web.js';
import { isHost, NodeExchange, writeError, type StreamFacts } from './node-proxy.js';

const isIpLiteral = (text: string): boolean => isIP(text) !== 0;
/** Which peer and scheme a session's requests come from, worked out on its first request. */
const sessionFacts = new WeakMap<Http2Session, { ip: string | undefined; proto: 'http' | 'https' }>();

/**
 * Serves `/svc/…` requests and gRPC calls that came over HTTP/2, through the
 * same proxy as HTTP/1.1's (node-proxy.ts reads and writes Node's HTTP/2
 * compatibility request and response as it does HTTP/1.1's). What differs is
 * read here: pseudo-header fields (`:authority` is the Host), a body known by
 * the stream, the client gone when its stream closes, not its connection.
 * A gRPC call (`application/grpc*`) becomes a `GrpcExchange`, whose outcome
 * is written in gRPC's terms; a gRPC-Web one (`application/grpc-web*`) the
 * exchange of `GrpcWebEdge` (grpc-web.ts).
 */
export function h2ProxyListener(proxy: ProxyHandler, onError?: (error: unknown) => void, grpcWeb?: GrpcWebEdge): (incoming: Http2ServerRequest, outgoing: Http2ServerResponse) => void {
  return (incoming, outgoing) => {
    const { headers } = incoming;
    const grpc = isGrpcContentType(headers['content-type']);
    // gRPC-Web (grpc-web.ts): a call goes through the proxy as gRPC, a CORS preflight is answered here.
    const web = grpc ? undefined : grpcWeb?.kindOf(incoming.method, headers['content-type'], headers['access-control-request-headers']);
    if (web === 'preflight') return grpcWeb!.preflight(incoming, outgoing);
    const exchange = exchangeOf(incoming, outgoing, grpc ? GrpcExchange : web === 'call' ? grpcWeb!.Exchange : NodeExchange, onError);
    if (typeof exchange === 'string') {
      if (grpc || web === 'call') writeGrpcError(outgoing, errorParts('BAD_REQUEST', exchange));
      else writeError(outgoing, errorParts('BAD_REQUEST', exchange));
      return;
    }
    outgoing.once('close', () => exchange.closed());
    try {
      proxy(exchange, exchange);
    } catch (error) {
      exchange.broke(error);
    }
  };
}

function exchangeOf(incoming: Http2ServerRequest, outgoing: Http2ServerResponse, Exchange: typeof NodeExchange, onError: ((error: unknown) => void) | undefined): NodeExchange | string {
  const target = incoming.url || '/';
  const fields = fieldsOfH2(incoming.rawHeaders);
  const host = fields && fieldValue(fields, 'host');
  if (host === undefined || !isHost(host)) return 'the request names no host (:authority), or not a host name or address';
  const facts: StreamFacts = { ...connectionOf(incoming.stream.session!), hasBody: !incoming.stream.endAfterHeaders };
  return new Exchange(incoming, outgoing, target, target.indexOf('?'), fields!, host, onError, facts);
}

function connectionOf(session: Http2Session): { ip: string | undefined; proto: 'http' | 'https' } {
  let facts = sessionFacts.get(session);
  if (facts === undefined) {
    const { socket } = session;
    facts = { ip: validIp(socket.remoteAddress, isIpLiteral), proto: 'encrypted' in socket && socket.encrypted ? 'https' : 'http' };
    sessionFacts.set(session, facts);
  }
  return facts;
}

/**
 * An HTTP/2 request's fields as HTTP/1.1 would carry them, for the proxy and
 * the instance: pseudo-header fields left out, `:authority` as `host` (where
 * no Host came), and the `cookie` fields HTTP/2 may split joined again (RFC
 * 9113 §8.2.3). Undefined when it names no host at all.
 */
function fieldsOfH2(raw: readonly string[]): string[] | undefined {
  const fields: string[] = [];
  let authority: string | undefined;
  let host = false;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') authority = value;
    } else if (name === 'cookie') {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
    } else {
      if (name === 'host') host = true;
      fields.push(name, value);
    }
  }
  if (cookie !== undefined) fields.push('cookie', cookie);
  if (!host) {
    if (authority === undefined) return undefined;
    fields.push('host', authority);
  }
  return fields;
}
