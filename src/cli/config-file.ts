import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Env } from './connect.js';
import { UsageError } from './errors.js';

/**
 * `serve --config FILE` (or `ETCD_EDGE_CONFIG`): the gateway's settings
 * as `NAME=value` lines (Node's `.env` syntax: `#` comments, quotes,
 * `export` prefixes), read at start and again on SIGHUP with `--workers`.
 * Its values win over the environment the process started with (a reload
 * must see the file's edits); flags win over both.
 */
export function configFileOf(flag: string | undefined, env: Env): string | undefined {
  const path = flag ?? env.ETCD_EDGE_CONFIG;
  return path === '' ? undefined : path;
}

/** The file's variables; a file that cannot be read is a usage error naming it, never a stack trace. */
export function readConfigFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--config ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : 'cannot be read'}`);
  }
  // The file names itself once: a value there would only point elsewhere.
  const { ETCD_EDGE_CONFIG: _, ...values } = parseEnv(text) as Record<string, string>;
  return values;
}
