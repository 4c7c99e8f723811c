import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { until } from '../../support/until.js';

const SCRIPT = join(import.meta.dirname, 'backend-process.mjs');

/**
 * An HTTP backend in a child process (see backend-process.mjs): killing it
 * with SIGKILL is a real crash. Every `x-request-id` it received is counted
 * here from its output, including those it never got to answer.
 */
export class BackendProcess {
  readonly name: string;
  /** Requests received, by `x-request-id`. */
  readonly seen = new Map<string, number>();
  /** When each `x-request-id` was last reported received (ms since the epoch). */
  readonly seenAt = new Map<string, number>();
  readonly #child: ChildProcess;
  readonly #exited: Promise<NodeJS.Signals | number | null>;
  #port = 0;
  #pending = '';

  private constructor(name: string) {
    this.name = name;
    this.#child = spawn(process.execPath, [SCRIPT, name], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child.stdout!.setEncoding('utf8').on('data', (text: string) => this.#read(text));
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve(signal ?? code)));
  }

  static async start(name: string): Promise<BackendProcess> {
    const backend = new BackendProcess(name);
    await until(() => backend.#port > 0 || backend.#child.exitCode !== null, 10_000);
    if (backend.#port === 0) throw new Error(`backend ${name} did not start`);
    return backend;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Sends `signal` and waits until the process is gone and its output read; resolves with how it ended. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<NodeJS.Signals | number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    const ended = await this.#exited;
    if (!this.#child.stdout!.readableEnded) await new Promise((r) => this.#child.stdout!.once('end', r));
    return ended;
  }

  #read(text: string): void {
    const lines = (this.#pending + text).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) {
      const [word, value = ''] = line.split(' ');
      if (word === 'listening') this.#port = Number(value);
      else if (word === 'seen') {
        this.seen.set(value, (this.seen.get(value) ?? 0) + 1);
        this.seenAt.set(value, Date.now());
      }
    }
  }
}
