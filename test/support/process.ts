// Child processes the suites run beside the cluster (the operator, Kueue): a free port to give
// them, their output kept as lines for a failing test to show, and a stop that always ends them.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

export interface LoggedProcess {
  child: ChildProcess;
  /** stdout and stderr, line by line, the newest `maxLines` kept. */
  logs: string[];
  /** Sends `signal`, then SIGKILL after 15 s; resolves once the process is gone. */
  terminate: (signal?: NodeJS.Signals) => Promise<void>;
}

export function spawnLogged(cmd: string, args: string[], options: SpawnOptions, maxLines = 5000): LoggedProcess {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
    if (logs.length > maxLines) logs.splice(0, logs.length - maxLines);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = once(child, 'exit');
  return {
    child,
    logs,
    terminate: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
