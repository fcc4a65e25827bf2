// Runs the real operator as a child process for the e2e suite, the way `make operator` does, and
// reads its /metrics. Against a cluster where the operator is already installed (EKS, or kind with
// the Helm chart), set LATHE_E2E_OPERATOR=external and the suite uses that one instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { freePort, spawnLogged } from './process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface OperatorProcess {
  readonly external: boolean;
  readonly port: number;
  readonly logs: string[];
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** How the process ended, once it has; `stopped` when stop() ended it. */
  exited(): { code: number | null; signal: string | null; stopped: boolean } | undefined;
}

/** The release the e2e suite renders the chart's RBAC under (its names derive from it). */
const RELEASE = 'lathe-e2e';
const RELEASE_NAMESPACE = 'lathe-e2e-system';
/** The Lease the suite's operators elect on (the chart's Role grants exactly this one). */
export const E2E_LEASE = { namespace: RELEASE_NAMESPACE, name: `${RELEASE}-operator` };
let serviceAccountKubeconfig: string | undefined;
/** The chart values the RBAC was last rendered with (re-applied when a suite asks for others). */
let appliedValues: string | undefined;

/**
 * A kubeconfig for the operator's own ServiceAccount with the Helm chart's RBAC applied, so the
 * suite proves the chart grants everything the operator really does (and, with its can-i tests,
 * nothing more). LATHE_E2E_OPERATOR_AUTH=admin runs the operator with the caller's kubeconfig.
 */
function operatorKubeconfig(chartValues: string[] = []): { kubeconfig: string; leaseNamespace: string; leaseName: string } | undefined {
  if (process.env.LATHE_E2E_OPERATOR_AUTH === 'admin') return undefined;
  const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  if (appliedValues !== chartValues.join(',')) {
    run('kubectl', ['apply', '-f', '-'], run('kubectl', ['create', 'namespace', RELEASE_NAMESPACE, '--dry-run=client', '-o', 'yaml']));
    const sets = chartValues.flatMap((v) => ['--set', v]);
    const rbac = run('helm', ['template', RELEASE, path.join(root, 'charts/lathe'), '-n', RELEASE_NAMESPACE, ...sets, '--show-only', 'templates/rbac.yaml', '--show-only', 'templates/serviceaccount.yaml']);
    run('kubectl', ['apply', '-n', RELEASE_NAMESPACE, '-f', '-'], rbac);
    appliedValues = chartValues.join(',');
  }
  if (!serviceAccountKubeconfig) {
    const token = run('kubectl', ['create', 'token', 'lathe-operator', '-n', RELEASE_NAMESPACE, '--duration=3h']).trim();
    const admin = JSON.parse(run('kubectl', ['config', 'view', '--raw', '--minify', '-o', 'json'])) as {
      clusters: { cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
    };
    const cluster = admin.clusters[0]!.cluster;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster }],
      users: [{ name: 'lathe-operator', user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'lathe-operator' } }],
      'current-context': 'e2e',
    };
    serviceAccountKubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-e2e-')), 'kubeconfig');
    writeFileSync(serviceAccountKubeconfig, JSON.stringify(kubeconfig), { mode: 0o600 });
  }
  return { kubeconfig: serviceAccountKubeconfig, leaseNamespace: RELEASE_NAMESPACE, leaseName: `${RELEASE}-operator` };
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Extra flags for node, after the image's own (operator/Dockerfile). */
  nodeArgs?: string[];
  /** Wait for /readyz (informers synced, leader elected) before returning. */
  waitReady?: boolean;
  /** Chart values (`key=value`) the operator's RBAC is rendered with, e.g. `kueue.enabled=true`. */
  chartValues?: string[];
}

/** Starts the operator built by `make build`, through hack/operator-node.sh (the image's node flags). */
export async function startOperator(opts: StartOptions = {}): Promise<OperatorProcess> {
  if (process.env.LATHE_E2E_OPERATOR === 'external') {
    return { external: true, port: 0, logs: [], metrics: () => Promise.resolve(''), stop: () => Promise.resolve(), exited: () => undefined };
  }
  const port = await freePort();
  const sa = operatorKubeconfig(opts.chartValues);
  // The image's node flags and malloc setting (hack/operator-node.sh).
  const { child, logs, terminate } = spawnLogged(path.join(root, 'hack/operator-node.sh'), opts.nodeArgs ?? [], {
    cwd: root,
    env: {
      ...process.env,
      LATHE_METRICS_PORT: String(port),
      LATHE_PROGRESS_POLL_MS: '500',
      LATHE_LEASE_NAMESPACE: sa?.leaseNamespace ?? 'default',
      LATHE_LEASE_NAME: sa?.leaseName ?? `lathe-e2e-${port}`,
      LATHE_LOG_LEVEL: 'info',
      ...(sa ? { KUBECONFIG: sa.kubeconfig } : {}),
      ...opts.env,
    },
  });
  let stopping = false;
  let exit: { code: number | null; signal: string | null; stopped: boolean } | undefined;
  // An operator that dies under a test (e.g. it lost its Lease) must not leave the test waiting
  // for a status that will never come without saying why.
  child.on('exit', (code, signal) => {
    exit = { code, signal, stopped: stopping };
    if (!stopping) process.stderr.write(`[operator] exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n${logs.slice(-20).join('\n')}\n`);
  });

  const proc: OperatorProcess = {
    external: false,
    port,
    logs,
    exited: () => exit,
    async metrics() {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return res.text();
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      stopping = true;
      await terminate(signal);
    },
  };
  if (opts.waitReady ?? true) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}:\n${logs.slice(-30).join('\n')}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`operator not ready after 60 s:\n${logs.slice(-30).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return proc;
}

/** Sum of a counter's samples in Prometheus text whose labels contain every `match` pair. */
export function metricSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+([^\s]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = m[3] ?? '';
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += Number(m[4]);
  }
  return sum;
}
