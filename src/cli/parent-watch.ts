const CHECK_EVERY_MS = 250;

/**
 * Calls `onGone` once when the process that started this one has exited.
 *
 * npm (`npm start`, `npx etcd-edge …`) runs a command through `sh -c` and
 * forwards SIGINT/SIGTERM to that shell only; the shell dies of it without
 * passing it on, so `kill <npm pid>` would leave the gateway or registrar
 * running, orphaned, still listening or registered. Node cannot ask Linux
 * for a parent-death signal, so the parent's pid is polled: an orphan is
 * adopted by another process, and `process.ppid` changes.
 *
 * @example
 * if (process.env.npm_lifecycle_event) watchParent(() => stop.abort());
 */
export function watchParent(onGone: () => void): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, CHECK_EVERY_MS);
  // The watch alone must not keep a finished command alive.
  timer.unref();
  return () => clearInterval(timer);
}
