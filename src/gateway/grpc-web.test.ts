import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64DecodedAll, Base64Decoder, Base64Encoder } from './base64-stream.js';
import { asGrpcCallFields, grpcWebContentTypeOf, grpcWebEncodingOf, trailerFrame } from './grpc-web.js';
import { GrpcWebCors, isGrpcWebPreflight } from './grpc-web-cors.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('gRPC-Web framing', () => {
  it('tells gRPC-Web content types, binary or text, from everything else', () => {
    expect(['application/grpc-web', 'application/grpc-web+proto', 'application/grpc-web;charset=x'].map(grpcWebEncodingOf)).toEqual(['binary', 'binary', 'binary']);
    expect(['application/grpc-web-text', 'application/grpc-web-text+proto'].map(grpcWebEncodingOf)).toEqual(['text', 'text']);
    expect(['application/grpc', 'application/grpc+proto', 'application/grpc-webx', undefined].map(grpcWebEncodingOf)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("makes a request's fields a gRPC call's, and an answer's content type gRPC-Web's", () => {
    const fields = ['content-type', 'application/grpc-web-text', 'x-grpc-web', '1', 'content-length', '12', 'grpc-timeout', '1S'];
    asGrpcCallFields(fields);
    expect(fields).toEqual(['content-type', 'application/grpc+proto', 'grpc-timeout', '1S']);
    expect(grpcWebContentTypeOf('application/grpc', 'binary')).toBe('application/grpc-web+proto');
    expect(grpcWebContentTypeOf('application/grpc+json', 'text')).toBe('application/grpc-web-text+json');
  });

  it('writes the trailers as a frame flagged 0x80', () => {
    const frame = trailerFrame(['grpc-status', '5', 'Grpc-Message', 'not%20found']);
    const body = 'grpc-status: 5\r\ngrpc-message: not%20found\r\n';
    expect([frame[0], new DataView(frame.buffer).getUint32(1), text(frame.subarray(5))]).toEqual([0x80, body.length, body]);
  });
});

describe('base64 over chunks', () => {
  it('encodes and decodes bodies cut anywhere as the whole body would be', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 6 }), (bytes, cuts) => {
        const encoder = new Base64Encoder();
        const pieces = chunks(bytes, cuts).map((chunk) => text(encoder.push(chunk)));
        const encoded = pieces.join('') + text(encoder.end());
        expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
        const decoder = new Base64Decoder();
        const decoded = chunks(new TextEncoder().encode(encoded), cuts).map((chunk) => Buffer.from(decoder.push(chunk)));
        decoder.end();
        expect(Buffer.concat(decoded)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('decodes padding mid-stream (each message encoded on its own), and refuses a partial group', () => {
    const joined = Buffer.from('ab').toString('base64') + Buffer.from('cde').toString('base64') + Buffer.from('f').toString('base64');
    expect(text(base64DecodedAll(new TextEncoder().encode(joined)))).toBe('abcdef');
    expect(() => base64DecodedAll(new TextEncoder().encode('YWJj='))).toThrow();
  });
});

describe('CORS for gRPC-Web', () => {
  it('answers allowed origins only, and any with *', () => {
    const cors = new GrpcWebCors(['https://app.example.com']);
    expect(cors.preflightFields('https://app.example.com')).toEqual(expect.arrayContaining(['access-control-allow-origin', 'https://app.example.com', 'access-control-allow-methods', 'POST', 'vary', 'origin']));
    expect(cors.preflightFields('https://evil.example.com')).toEqual(['vary', 'origin']);
    expect(cors.answerFields('https://app.example.com')).toEqual(expect.arrayContaining(['access-control-expose-headers', 'grpc-status, grpc-message, grpc-status-details-bin, x-request-id']));
    expect(new GrpcWebCors(['*']).allowOrigin('https://any.example.com')).toBe('*');
    expect([new GrpcWebCors([]).on, new GrpcWebCors([]).answerFields('https://app.example.com')]).toEqual([false, []]);
  });

  it('knows a gRPC-Web preflight by x-grpc-web among the headers it asks for', () => {
    expect(isGrpcWebPreflight('OPTIONS', 'content-type,X-Grpc-Web,x-user-agent')).toBe(true);
    expect(isGrpcWebPreflight('OPTIONS', 'content-type, authorization')).toBe(false);
    expect(isGrpcWebPreflight('POST', 'x-grpc-web')).toBe(false);
  });
});

function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...at, bytes.length]) {
    out.push(bytes.subarray(start, cut));
    start = cut;
  }
  return out;
}
