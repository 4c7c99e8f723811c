import type { Env } from './connect.js';

/** Where the CLI writes: process.stdout and process.stderr, or a test's buffer. */
export interface Output {
  write(text: string): unknown;
}

/** What a command runs with. */
export interface CliContext {
  out: Output;
  err: Output;
  env: Env;
  /** Aborted on SIGINT/SIGTERM: long-running commands finish cleanly. */
  signal: AbortSignal;
}
