// A hand check of the peer (test/support/peer.ts) against the local cluster: one TrainJob becomes a
// JobSet, a Job and a pod on a kwok node, and stopping the peer leaves nothing of it behind.
//
//   npx tsx hack/bench/peer-smoke.ts      (after `make cluster`)
import { clients, createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.js';
import { startPeer, trainJob } from '../../test/support/peer.js';
import { JOBSET_LABEL } from './peer.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const { core } = clients();
  const t0 = performance.now();
  const peer = await startPeer();
  out(`[smoke] Trainer and JobSet healthy after ${((performance.now() - t0) / 1000).toFixed(1)} s; pids ${JSON.stringify(peer.pids())}`);
  const ns = await createNamespace(core, 'peer-smoke');
  try {
    kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(trainJob('smoke')));
    const get = (what: string) => kubectl(['get', what, '-n', ns, '-l', `${JOBSET_LABEL}=smoke`, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\\n"}{end}']).trim();
    await waitFor('the pod of TrainJob smoke on a node', () => /\S+ \S+/.test(get('pods')) || undefined, 60_000, 250);
    out(`[smoke] JobSet: ${kubectl(['get', 'jobsets', '-n', ns, '-o', 'name']).trim()}`);
    out(`[smoke] Job: ${get('jobs')}`);
    out(`[smoke] pod (name node phase): ${get('pods')}`);
    await waitFor('TrainJob smoke Complete', () => kubectl(['get', 'trainjob/smoke', '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="Complete")].status}']) === 'True' || undefined, 60_000, 500);
    out(`[smoke] TrainJob conditions: ${kubectl(['get', 'trainjob/smoke', '-n', ns, '-o', 'jsonpath={range .status.conditions[*]}{.type}={.status} {end}'])}`);
    const m = await peer.metrics();
    out(`[smoke] metrics read: Trainer ${m.trainer.length} bytes, JobSet ${m.jobset.length} bytes; rest_client_requests_total lines: ${m.trainer.split('\n').filter((l) => l.startsWith('rest_client_requests_total')).length} + ${m.jobset.split('\n').filter((l) => l.startsWith('rest_client_requests_total')).length}`);
  } finally {
    await deleteNamespace(core, ns);
    await peer.stop();
  }
  const left = kubectl(['get', 'crd,mutatingwebhookconfigurations,validatingwebhookconfigurations,clusterrolebinding', '-o', 'name']).split('\n').filter((l) => /jobset|trainer|lathe-bench-peer/.test(l));
  out(`[smoke] after stop, left behind: ${left.length ? left.join(', ') : 'nothing'}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[smoke] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
