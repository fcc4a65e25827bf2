// The operator process: `make operator` locally, and the container's entry point on a cluster.
// Settings come from the environment (see config/operator-config.ts and the README); the cluster
// from in-cluster config or $KUBECONFIG; AWS from the standard SDK chain (IRSA on EKS).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from './config/operator-config.js';
import { Manager } from './manager.js';
import { createLogger } from './runtime/logger.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { component: 'lathe-operator' } });
  // loadFromDefault quietly falls back to http://localhost:8080 when it finds nothing; an operator
  // pointed at no cluster should say so and stop instead of retrying forever.
  const home = process.env.HOME ?? '';
  if (!process.env.KUBECONFIG && !process.env.KUBERNETES_SERVICE_HOST && !existsSync(`${home}/.kube/config`)) {
    throw new Error('no cluster to talk to: set KUBECONFIG, or run in a pod with a ServiceAccount');
  }
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const manager = new Manager({ kc, config, logger });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Finish in-flight reconciles, then release the Lease so a standby takes over at once.
    manager.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));

  await manager.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`lathe-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
