// `kubectl port-forward` from a free local port: the plugin runs under kubectl, so kubectl is there,
// and it speaks the API server's streaming protocol that the operator's JSON client does not.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface PortForward {
  /** The local port on 127.0.0.1. */
  port: number;
  /** Whether kubectl is still forwarding (it exits when the pod behind it goes away). */
  alive(): boolean;
  close(): Promise<void>;
}

/** Starts a port-forward from 127.0.0.1:<free port> to `target` (e.g. service/x) port `remotePort`. */
export async function openPortForward(namespace: string, target: string, remotePort: number): Promise<PortForward> {
  const forward = spawn(process.env.KUBECTL ?? 'kubectl', ['port-forward', '-n', namespace, target, `:${remotePort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  forward.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const close = async () => {
    if (forward.exitCode === null && forward.signalCode === null) {
      forward.kill();
      await once(forward, 'exit').catch(() => undefined);
    }
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      forward.stdout.on('data', (b: Buffer) => {
        const m = /127\.0\.0\.1:(\d+)/.exec(b.toString());
        if (m) resolve(Number(m[1]));
      });
      forward.on('error', (err) => reject(new Error(`cannot run kubectl port-forward: ${err.message}`)));
      forward.on('exit', (code) => reject(new Error(`kubectl port-forward ${target} exited ${code}: ${stderr.trim()}`)));
    });
    return { port, alive: () => forward.exitCode === null && forward.signalCode === null, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Runs `fn` with a port-forward to `target`, closed afterwards. */
export async function withPortForward<T>(namespace: string, target: string, remotePort: number, fn: (port: number) => Promise<T>): Promise<T> {
  const forward = await openPortForward(namespace, target, remotePort);
  try {
    return await fn(forward.port);
  } finally {
    await forward.close();
  }
}
