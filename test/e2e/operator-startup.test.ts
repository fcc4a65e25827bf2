// Start-up mistakes a platform team makes, each met with one clear line and exit code 1 rather than
// an operator that runs and never acts: a Lease namespace that does not exist, Kueue support on
// without Kueue, the Gateway API on without its CRDs, a setting with a typo, a kubeconfig setting the operator's client does not implement.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gatewayApiServed } from '../support/gateway-api.js';
import { startOperator } from '../support/operator-process.js';
import { waitFor } from '../support/wait.js';

const external = process.env.LATHE_E2E_OPERATOR === 'external';

/** Starts the operator, expects it to exit with 1 (not merely to become ready), and returns its lines. */
async function refused(env: Record<string, string>): Promise<string[]> {
  const op = await startOperator({ env, waitReady: false });
  try {
    const exit = await waitFor('the operator to exit', () => op.exited(), 20_000, 50);
    expect(exit.code).toBe(1);
    return [...op.logs];
  } finally {
    await op.stop();
  }
}

describe.skipIf(external)('operator start-up', () => {
  it('stops with one line when the Lease namespace does not exist, instead of a warning every 3 s', async () => {
    const lines = await refused({ KUBECONFIG: process.env.KUBECONFIG!, LATHE_LEASE_NAMESPACE: 'lathe-no-such-namespace' });
    const fatal = lines.filter((l) => l.startsWith('lathe-operator: '));
    expect(fatal).toEqual([
      'lathe-operator: leader election: the Lease namespace "lathe-no-such-namespace" does not exist; create it (kubectl create namespace lathe-no-such-namespace), set LATHE_LEASE_NAMESPACE to one that exists, or set LATHE_LEADER_ELECTION=false to run a single replica without a Lease',
    ]);
    expect(lines.some((l) => l.includes('lease read/write failed'))).toBe(false);
  });

  it('stops with one line when LATHE_KUEUE is on and the cluster has no Kueue', async () => {
    const lines = (await refused({ LATHE_KUEUE: 'true', LATHE_LEADER_ELECTION: 'false' })).filter((l) => l.startsWith('lathe-operator: '));
    expect(lines).toEqual([
      "lathe-operator: LATHE_KUEUE=true, but the API server does not serve kueue.x-k8s.io/v1beta2 workloads: install Kueue (v0.15 or later) first, or turn Kueue support off (LATHE_KUEUE=false; the chart's kueue.enabled=false)",
    ]);
  });

  // Skipped where the cluster serves the Gateway API for real (the expose suite removes the CRDs it installed).
  it.skipIf(gatewayApiServed())('stops with one line when LATHE_GATEWAY_API is on and the cluster has no Gateway API', async () => {
    const lines = (await refused({ LATHE_GATEWAY_API: 'true', LATHE_LEADER_ELECTION: 'false' })).filter((l) => l.startsWith('lathe-operator: '));
    expect(lines).toEqual([
      "lathe-operator: LATHE_GATEWAY_API=true, but the API server does not serve gateway.networking.k8s.io/v1 httproutes: install the Gateway API CRDs (v1.0 or later, standard channel) first, or turn HTTPRoute support off (LATHE_GATEWAY_API=false; the chart's gatewayApi.enabled=false)",
    ]);
  });

  it('names a bad setting and a misspelled one', async () => {
    const lines = (await refused({ LATHE_LEADER_ELECTION: 'ture', LATHE_WOKRERS: '4' })).filter((l) => l.startsWith('lathe-operator: '));
    expect(lines).toEqual([
      'lathe-operator: invalid operator configuration: LATHE_LEADER_ELECTION: expected true or false, got "ture"; LATHE_WOKRERS: not a setting; did you mean LATHE_WORKERS?',
    ]);
  });

  it('refuses a kubeconfig whose proxy-url it would otherwise ignore', async () => {
    const file = path.join(tmpdir(), `lathe-proxy-${process.pid}.kubeconfig`);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'proxy-url': 'http://proxy.example:3128' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const lines = (await refused({ KUBECONFIG: file })).filter((l) => l.startsWith('lathe-operator: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lathe-operator: kubeconfig .*: cluster "c" has a proxy-url, which Lathe does not support/);
  });
});
