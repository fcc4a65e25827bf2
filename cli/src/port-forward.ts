// `kubectl port-forward` from a free local port: the plugin runs under kubectl, so kubectl is there,
// and it speaks the API server's streaming protocol that the operator's JSON client does not.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Runs `fn` with a port-forward from 127.0.0.1:<free port> to `target` (e.g. service/x) port `remotePort`. */
export async function withPortForward<T>(namespace: string, target: string, remotePort: number, fn: (port: number) => Promise<T>): Promise<T> {
  const forward = spawn(process.env.KUBECTL ?? 'kubectl', ['port-forward', '-n', namespace, target, `:${remotePort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  forward.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      forward.stdout.on('data', (b: Buffer) => {
        const m = /127\.0\.0\.1:(\d+)/.exec(b.toString());
        if (m) resolve(Number(m[1]));
      });
      forward.on('error', (err) => reject(new Error(`cannot run kubectl port-forward: ${err.message}`)));
      forward.on('exit', (code) => reject(new Error(`kubectl port-forward ${target} exited ${code}: ${stderr.trim()}`)));
    });
    return await fn(port);
  } finally {
    if (forward.exitCode === null) {
      forward.kill();
      await once(forward, 'exit').catch(() => undefined);
    }
  }
}
