import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Cancellable } from '../../gateway/index.js';

/** An instance's upgraded connection as `UndiciUpstream` hands it over (`UpstreamResponse.native` of a 101). */
export class UpgradedSocket implements Cancellable {
  constructor(readonly socket: Duplex) {}

  /** Not relayed after all (the client went away during the handshake). */
  cancel(): void {
    this.socket.destroy();
  }
}

/** How long a closing relay waits for its peers to hang up after the close frames went out. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Frame boundaries of one direction of a WebSocket connection (RFC 6455
 * §5.2), read from the headers alone: payloads are neither unmasked nor
 * copied. The relay needs them to put a close frame of its own between two
 * frames, never inside one.
 */
export class FrameBoundaries {
  /** Payload bytes of the current frame still to come. */
  #payload = 0;
  /** The header being read, when it came split across chunks (rare). */
  #header: number[] = [];
  /** Whether a close frame passed: after it, the peer hanging up is the normal end. */
  closeSeen = false;

  get atBoundary(): boolean {
    return this.#payload === 0 && this.#header.length === 0;
  }

  /** Reads `chunk`; with `stop`, only up to the first boundary reached. Returns how many bytes were read. */
  read(chunk: Uint8Array, stop: boolean): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payload > 0) {
        const take = Math.min(this.#payload, chunk.length - i);
        this.#payload -= take;
        i += take;
      } else {
        this.#header.push(chunk[i++]!);
        if (!this.#headerDone()) continue;
      }
      if (stop && this.atBoundary) return i;
    }
    return i;
  }

  /** Whether the header is whole; then its payload length is taken and the header cleared. */
  #headerDone(): boolean {
    const h = this.#header;
    if (h.length < 2) return false;
    const short = h[1]! & 0x7f;
    const length = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
    if (h.length < length) return false;
    if ((h[0]! & 0x0f) === 0x8) this.closeSeen = true;
    let payload = short;
    if (short === 126) payload = (h[2]! << 8) | h[3]!;
    else if (short === 127) {
      payload = 0;
      for (let k = 2; k < 10; k++) payload = payload * 256 + h[k]!;
    }
    this.#payload = payload;
    this.#header = [];
    return true;
  }
}

/** A close frame with `code` and `reason` (at most 123 bytes); masked when the gateway sends it as the client (to an instance). */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const key = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), key, payload]);
}

/** One direction of a relay: bytes from one socket to the other, with its frame boundaries. */
class Direction {
  readonly frames = new FrameBoundaries();
  /** A close frame of the gateway's, to send at the next boundary; then nothing more goes this way. */
  pendingClose: Buffer | undefined;
  sealed = false;

  constructor(
    readonly from: Duplex,
    readonly to: Duplex,
    /** Whether frames the gateway writes this way are masked (towards the instance). */
    readonly masked: boolean,
  ) {}

  /** Ends this direction with `frame` now if between frames, else at the next boundary. */
  close(frame: Buffer): void {
    if (this.sealed || this.pendingClose) return;
    if (this.frames.atBoundary) this.#seal(frame);
    else this.pendingClose = frame;
  }

  /** Ends this direction without a frame (the peer's own close went through, or none can be sent whole). */
  end(): void {
    if (this.sealed) return;
    this.sealed = true;
    this.to.end();
  }

  /** Passes `chunk` on, up to the boundary where a pending close goes out; false when the reader must wait for `drain`. */
  pass(chunk: Buffer): boolean {
    if (this.sealed) return true;
    const pending = this.pendingClose;
    const read = this.frames.read(chunk, pending !== undefined);
    if (pending === undefined || !this.frames.atBoundary) return this.to.write(chunk);
    this.to.write(chunk.subarray(0, read));
    this.#seal(pending);
    return true;
  }

  #seal(frame: Buffer): void {
    this.sealed = true;
    this.pendingClose = undefined;
    this.to.end(frame);
  }
}

export interface RelayOptions {
  /** No bytes either way for this long closes both sides (1001). */
  idleTimeoutMs: number;
  /** Told once, when both sockets are closed, with the bytes sent to the client. */
  onEnd: (bytesToClient: number) => void;
}

/**
 * One upgraded connection relayed byte for byte between the client and an
 * instance, as nginx and Envoy do: frames, extensions and close codes pass
 * untouched both ways. The gateway speaks only to end it: a close frame
 * between two frames (1001 when idle or shutting down, 1011 to the client
 * when the instance went away without one, 1001 to the instance when the
 * client did), then both sockets are closed, at the latest after a grace time.
 */
export class Relay {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  readonly #down: Direction;
  readonly #up: Direction;
  readonly #options: RelayOptions;
  #lastActive = Date.now();
  #idleTimer: NodeJS.Timeout;
  #graceTimer: NodeJS.Timeout | undefined;
  #open = 2;
  #bytesToClient = 0;

  constructor(client: Duplex, upstream: Duplex, head: Buffer, options: RelayOptions) {
    this.#client = client;
    this.#upstream = upstream;
    this.#options = options;
    this.#down = new Direction(upstream, client, false);
    this.#up = new Direction(client, upstream, true);
    this.#idleTimer = setTimeout(() => this.#checkIdle(), options.idleTimeoutMs);
    for (const socket of [client, upstream]) {
      (socket as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
      socket.on('error', () => socket.destroy());
      socket.once('close', () => this.#closed());
    }
    if (head.length > 0) this.#up.pass(head);
    this.#wire(this.#down, (n) => (this.#bytesToClient += n));
    this.#wire(this.#up, undefined);
    client.once('end', () => this.#gone(this.#up, closeFrame(1001, 'the client went away', true)));
    upstream.once('end', () => this.#gone(this.#down, closeFrame(1011, 'the instance went away', false)));
    client.once('close', () => this.#gone(this.#up, closeFrame(1001, 'the client went away', true)));
    upstream.once('close', () => this.#gone(this.#down, closeFrame(1011, 'the instance went away', false)));
  }

  /** Closes both ways with `code` (1001: idle, or the gateway shutting down), each at its next frame boundary. */
  goAway(code: number, reason: string): void {
    this.#down.close(closeFrame(code, reason, false));
    this.#up.close(closeFrame(code, reason, true));
    this.#graceTimer ??= setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
  }

  /** Tears both sockets down at once. */
  destroy(): void {
    this.#client.destroy();
    this.#upstream.destroy();
  }

  #wire(direction: Direction, count: ((bytes: number) => void) | undefined): void {
    const { from, to } = direction;
    from.on('data', (chunk: Buffer) => {
      this.#lastActive = Date.now();
      count?.(chunk.length);
      if (!direction.pass(chunk)) from.pause();
    });
    to.on('drain', () => from.resume());
  }

  /**
   * One side hung up (`direction` reads from it): the other learns it with the
   * side's own close frame if one went through, else the gateway's, when
   * between frames; mid-frame it can only be cut off.
   */
  #gone(direction: Direction, frame: Buffer): void {
    if (direction.frames.closeSeen) direction.end();
    else if (direction.frames.atBoundary) direction.close(frame);
    else direction.to.destroy();
    this.#graceTimer ??= setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
  }

  #checkIdle(): void {
    const idle = Date.now() - this.#lastActive;
    const limit = this.#options.idleTimeoutMs;
    if (idle >= limit) this.goAway(1001, 'idle timeout');
    else this.#idleTimer = setTimeout(() => this.#checkIdle(), limit - idle);
  }

  #closed(): void {
    if (--this.#open > 0) return;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#graceTimer);
    this.#options.onEnd(this.#bytesToClient);
  }
}
