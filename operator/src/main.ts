// The operator process: `make operator` locally, and the container's entry point on a cluster.
// Settings come from the environment (see config/operator-config.ts and the README); the cluster
// from in-cluster config or $KUBECONFIG; AWS from the standard SDK chain (IRSA on EKS).
import { loadClusterAccess } from './client/cluster-access.js';
import { KubeClient } from './client/kube-client.js';
import { loadConfig } from './config/operator-config.js';
import { Manager } from './manager.js';
import { createLogger } from './runtime/logger.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { component: 'lathe-operator' } });
  const access = loadClusterAccess();
  logger.info('cluster', { server: access.server, from: access.source });
  const proxy = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].find((v) => process.env[v]);
  if (proxy) logger.warn(`${proxy} is set, but the operator does not use proxies: it connects to the API server and S3 directly`, {});
  const manager = new Manager({ client: new KubeClient(access), config, logger });

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
