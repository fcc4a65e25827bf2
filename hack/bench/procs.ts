// CPU and memory of the processes the bench compares, from Linux /proc (empty against a remote
// cluster): on a 2-core machine the burst is CPU-bound, and this shows where the CPU went.
import { readdirSync, readFileSync } from 'node:fs';

const HZ = 100; // USER_HZ on Linux

/** utime + stime of one process, in seconds; 0 once it has ended. */
export function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return 0;
  }
}

/** Resident set of one process, in MB (VmRSS, as process_resident_memory_bytes reports it). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : 0;
  } catch {
    return 0;
  }
}

/** Whether a command line (argv) is the process called `name`: a script path's tail, or a binary's base name. */
const matches = (cmd: string[], name: string) => (name.endsWith('.js') ? cmd.some((a) => a.endsWith(name)) : cmd[0]!.endsWith(`/${name}`));

/** Every process on this machine with its argv (none where there is no /proc). */
function processes(): { pid: number; cmd: string[] }[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  return pids.flatMap((pid) => {
    try {
      return [{ pid: Number(pid), cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') }];
    } catch {
      return []; // the process ended
    }
  });
}

/** CPU seconds used so far by every process whose command is one of `names`, summed by name. */
export function cpuByName(names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { pid, cmd } of processes()) {
    const name = names.find((n) => matches(cmd, n));
    if (name) out.set(name, (out.get(name) ?? 0) + cpuOf(pid));
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The process serving metrics on `port` among those named `name` (its LATHE_METRICS_PORT): by pid,
 * not by name, because another suite's operator may run from another checkout on the same machine.
 */
export function pidOfOperator(name: string, port: number): number | undefined {
  return processes().find(({ pid, cmd }) => {
    if (!matches(cmd, name)) return false;
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`LATHE_METRICS_PORT=${port}`);
    } catch {
      return false; // the process ended, or is not ours to read
    }
  })?.pid;
}

/** Resolves once `count()` (a controller's API writes so far) has not moved for 3 s. */
export async function writesSettled(count: () => Promise<number>): Promise<void> {
  let last = -1;
  for (;;) {
    const now = await count();
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 3000));
  }
}
