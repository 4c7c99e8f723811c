// CPU time and open sockets of process trees, from /proc: enough to charge
// each run's CPU to the processes of the benchmark and to see when something
// else on the machine was busy.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** The fields of /proc/PID/stat after the command name (which may hold spaces). */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited
  }
}

/** `root` and all its live descendants. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (!fields) continue;
    const ppid = Number(fields[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const tree = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU ticks (user + system) of the processes in the trees of `roots`. With
 * `reaped`, also those of their children that already exited and were waited
 * for (cutime + cstime), such as a finished wrk.
 */
export function treeTicks(roots, { reaped = false } = {}) {
  let ticks = 0;
  for (const root of roots) for (const pid of processTree(root)) ticks += ownTicks(pid, reaped);
  return ticks;
}

function ownTicks(pid, reaped = false) {
  const f = statFields(pid);
  // utime and stime are fields 14 and 15 of stat, cutime and cstime 16 and 17.
  return f ? Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0) : 0;
}

/**
 * Busy ticks of the whole machine: user, nice, system, irq and softirq. This
 * kernel charges interrupt ticks to the process that was running as well
 * (no CONFIG_IRQ_TIME_ACCOUNTING), so they belong on both sides of the sum.
 */
export function machineBusyTicks() {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + irq + softirq;
}

/** Ticks the hypervisor gave to other guests while this one wanted the CPU (steal, /proc/stat's eighth field). */
export function machineStealTicks() {
  return Number(readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)[8] ?? 0);
}

/** The kernel threads that process network traffic when it piles up: loopback load lands there. */
export function softirqThreads() {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ksoftirqd/');
    } catch {
      return false;
    }
  });
}

/** Open sockets held by the processes in `root`'s tree. */
export function socketCount(root) {
  let sockets = 0;
  for (const pid of processTree(root)) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return sockets;
}

/** CPU ticks of `root`'s tree per command name (`node`, `workerd`, ...): where a multi-process contender spends its time. */
export function ticksByCommand(root) {
  const byCommand = {};
  for (const pid of processTree(root)) {
    let comm;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    byCommand[comm] = (byCommand[comm] ?? 0) + ownTicks(pid);
  }
  return byCommand;
}
