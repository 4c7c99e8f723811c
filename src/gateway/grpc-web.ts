import type { FieldList } from './fields.js';

/**
 * gRPC-Web (grpc/doc/PROTOCOL-WEB.md) as the gateway translates it to gRPC:
 * which requests are gRPC-Web's, their fields as a gRPC call's, and the
 * answer's trailers as the body's last frame (flag 0x80). `-text` bodies are
 * base64 both ways. Web standards only: the Node adapter that relays the
 * bytes is adapters/node/grpc-web.ts.
 */

/** How a gRPC-Web body is carried: bytes as gRPC's, or base64 (`application/grpc-web-text`). */
export type GrpcWebEncoding = 'binary' | 'text';

/** `application/grpc-web`, `…+proto`, `…;…`, and the same with `-text`; undefined for anything else (gRPC itself included). */
export function grpcWebEncodingOf(contentType: string | undefined): GrpcWebEncoding | undefined {
  if (contentType === undefined || !contentType.startsWith('application/grpc-web')) return undefined;
  const text = contentType.startsWith('-text', 20);
  const next = contentType.charCodeAt(text ? 25 : 20);
  // end, '+' or ';'
  if (!(Number.isNaN(next) || next === 0x2b || next === 0x3b)) return undefined;
  return text ? 'text' : 'binary';
}

/** The gRPC content type a gRPC-Web one stands for: its codec kept, `proto` when it names none (`-text` is proto). */
export function grpcContentTypeOf(contentType: string): string {
  const plus = /^application\/grpc-web(?:-text)?\+([A-Za-z0-9._-]+)/.exec(contentType);
  return `application/grpc+${plus?.[1] ?? 'proto'}`;
}

/** The gRPC-Web content type of an instance's gRPC answer (`application/grpc+proto` → `application/grpc-web+proto`). */
export function grpcWebContentTypeOf(grpcContentType: string | undefined, encoding: GrpcWebEncoding): string {
  const codec = /^application\/grpc\+([A-Za-z0-9._-]+)/.exec(grpcContentType ?? '')?.[1] ?? 'proto';
  return `${encoding === 'text' ? 'application/grpc-web-text' : 'application/grpc-web'}+${codec}`;
}

/** Fields a gRPC-Web request carries for its browser library, which a gRPC instance has no use for. */
const WEB_ONLY = new Set(['x-grpc-web', 'content-length']);

/**
 * A gRPC-Web request's fields as a gRPC call's, in place: its content type
 * gRPC's, `x-grpc-web` dropped, and `content-length` too (a `-text` body
 * shrinks once decoded; HTTP/2 frames say where a body ends).
 */
export function asGrpcCallFields(fields: string[]): void {
  let w = 0;
  for (let r = 0; r < fields.length; r += 2) {
    const name = fields[r]!;
    if (WEB_ONLY.has(name)) continue;
    fields[w] = name;
    fields[w + 1] = name === 'content-type' ? grpcContentTypeOf(fields[r + 1]!) : fields[r + 1]!;
    w += 2;
  }
  fields.length = w;
}

/** The status fields of a trailers-only answer, which gRPC-Web carries in the response's headers. */
export function statusFields(status: number, message: string): FieldList {
  return ['grpc-status', String(status), 'grpc-message', message];
}

/**
 * The trailers as gRPC-Web's last frame: flag 0x80, a 4-byte length, then
 * `name: value\r\n` for each field, names lower case.
 *
 * @example
 * trailerFrame(['grpc-status', '0']) // 0x80 00 00 00 0f "grpc-status: 0\r\n"
 */
export function trailerFrame(fields: FieldList): Uint8Array {
  let text = '';
  for (let i = 0; i < fields.length; i += 2) text += `${fields[i]!.toLowerCase()}: ${fields[i + 1]!}\r\n`;
  const bytes = new TextEncoder().encode(text);
  const frame = new Uint8Array(5 + bytes.length);
  frame[0] = 0x80;
  new DataView(frame.buffer).setUint32(1, bytes.length);
  frame.set(bytes, 5);
  return frame;
}
