// The NetworkPolicies the operator renders (LATHE_NETWORK_POLICIES), enforced on the real node by
// kube-router's policy controller (hack/node.sh), as the VPC CNI's policy agent enforces them on
// EKS: a served model answers pods of its own namespace and of the Prometheus namespace, and refuses
// a pod of any other namespace, while the kubelet's probes (from the node) keep it Ready; the two
// workers of a distributed run rendezvous under their policy and finish, and a pod of another
// namespace cannot reach their rendezvous port. test/e2e/expose.test.ts checks the same policies as
// objects the API server accepts.
import { CustomObjectsApi, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, ensureCrds, waitFor } from '../support/cluster.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { deleteNamespaceAndWait, describePod, imageRef, ON_REAL_NODE, requireRealNode, restrictedNamespace, seedTinyModel, tinyRun, tinyService, type Seed } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const networking = kc.makeApiClient(NetworkingV1Api);
const group = { group: 'lathe.dev', version: 'v1alpha1' } as const;
const SERVICE = 'guarded';
let ns = '';
let other = '';
let monitoring = '';
let seed: Seed;
let operator: OperatorProcess | undefined;

/** What a probe pod found for one target (`host:port` or `host:port/path`). */
interface Probe {
  target: string;
  /** The TCP connection was made: what a policy decides. */
  ok: boolean;
  /** The HTTP status of GET /path when a path was given and the connection made; else the error. */
  detail: string;
}

// A Python one-off in the inference image (which the node already has), one JSON line per target:
// TCP connects with a short timeout, again every half second for 10 s until one gets through (a
// refusal, an unreachable or a timeout each time is "not reached"), then, for a target with a path,
// an HTTP GET to show who answered. The retries are for a new pod: the policy agent learns its
// address from the API server a moment after it starts, and until then the pod's connections to a
// guarded port are refused (the same holds on EKS). They cannot let a refused pod through: an
// address the agent does not know matches no rule that allows it.
const PROBE = `
import http.client, json, socket, sys, time
for target in sys.argv[1:]:
    hostport, _, path = target.partition("/")
    host, _, port = hostport.rpartition(":")
    deadline, error = time.monotonic() + 10, None
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            error = None
            break
        except OSError as e:
            error = type(e).__name__ + ": " + str(e)
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if error:
        print(json.dumps({"target": target, "ok": False, "detail": error}))
        continue
    detail = "connected"
    if path:
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=10)
            c.request("GET", "/" + path)
            detail = str(c.getresponse().status)
        except OSError as e:
            detail = "connected, then " + type(e).__name__ + ": " + str(e)
    print(json.dumps({"target": target, "ok": True, "detail": detail}))
`;

/** Runs the probe in a restricted pod of `namespace` on the real node and returns its findings. */
async function probeFrom(namespace: string, targets: string[]): Promise<Probe[]> {
  const name = `probe-${Math.random().toString(36).slice(2, 8)}`;
  const pod: V1Pod = {
    metadata: { name, labels: { app: 'probe' } },
    spec: {
      restartPolicy: 'Never',
      ...ON_REAL_NODE,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe',
        image: imageRef('inference'),
        imagePullPolicy: 'Never',
        command: ['python3', '-c', PROBE, ...targets],
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
      }],
    },
  };
  await core.createNamespacedPod({ namespace, body: pod });
  let last: V1Pod | undefined;
  const done = await waitFor(`probe pod ${namespace}/${name} to finish`, async () => {
    last = await core.readNamespacedPod({ namespace, name });
    return last.status?.phase === 'Succeeded' || last.status?.phase === 'Failed' ? last : undefined;
  }, 120_000, 500).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${last ? describePod(last) : 'never read'}`, { cause: err });
  });
  const log = await core.readNamespacedPodLog({ namespace, name, container: 'probe' });
  await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  if (done.status?.phase !== 'Succeeded') throw new Error(`probe pod failed: ${describePod(done)}\n${log}`);
  return log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Probe);
}

async function condition(plural: string, name: string, type: string): Promise<string | undefined> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural, name })) as { status?: { conditions?: { type: string; status: string }[] } };
  return obj.status?.conditions?.find((c) => c.type === type)?.status;
}

/** The server pod's own address and the Service's: the policy must hold for both paths. */
async function servingTargets(): Promise<string[]> {
  const svc = await core.readNamespacedService({ namespace: ns, name: SERVICE });
  const [pod] = (await core.listNamespacedPod({ namespace: ns, labelSelector: `lathe.dev/inference-service=${SERVICE}` })).items;
  const port = pod!.spec!.containers[0]!.ports![0]!.containerPort;
  return [`${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}/readyz`, `${pod!.status!.podIP}:${port}/readyz`];
}

beforeAll(async () => {
  await requireRealNode(core);
  ensureCrds();
  ns = await restrictedNamespace(core, 'real-netpol');
  other = await restrictedNamespace(core, 'real-netpol-other', []);
  monitoring = await restrictedNamespace(core, 'real-netpol-monitoring', []);
  seed = seedTinyModel(`real/${ns}`);
  operator = await startOperator({
    env: {
      LATHE_INFERENCE_IMAGE: imageRef('inference'),
      LATHE_TRAINER_IMAGE: imageRef('trainer'),
      LATHE_WATCH_NAMESPACES: ns,
      LATHE_NETWORK_POLICIES: 'true',
      LATHE_NETWORK_POLICY_PROMETHEUS_NAMESPACES: monitoring,
    },
    chartValues: ['networkPolicy.workloads.enabled=true'],
  });
  await custom.createNamespacedCustomObject({
    ...group,
    namespace: ns,
    plural: 'inferenceservices',
    body: tinyService(SERVICE, { uri: seed.model }),
  });
  // Ready means the kubelet's readiness probe got through the policy (the node is always let in).
  await waitFor(`InferenceService ${SERVICE} to be Ready under its NetworkPolicy`, async () => (await condition('inferenceservices', SERVICE, 'Ready')) === 'True', 240_000, 1000);
}, 330_000);

afterAll(async () => {
  await operator?.stop();
  for (const n of [ns, other, monitoring]) if (n) await deleteNamespaceAndWait(core, n);
});

describe('NetworkPolicies enforced on the real node', () => {
  it('the serving pods answer their own namespace and Prometheus’ namespace, and refuse any other', async () => {
    const policy = await networking.readNamespacedNetworkPolicy({ namespace: ns, name: SERVICE });
    expect(policy.spec?.policyTypes).toEqual(['Ingress']);
    const targets = await servingTargets();

    const same = await probeFrom(ns, targets);
    expect(same.map((p) => [p.target, p.ok, p.detail])).toEqual(targets.map((t) => [t, true, '200']));
    const fromMonitoring = await probeFrom(monitoring, targets);
    expect(fromMonitoring.every((p) => p.ok), JSON.stringify(fromMonitoring)).toBe(true);
    // The same pod reaches the API server through the kubernetes Service: its network works, and
    // only the guarded port turns it away.
    const [apiServer, ...fromOther] = await probeFrom(other, ['10.96.0.1:443', ...targets]);
    expect(apiServer!.ok, apiServer!.detail).toBe(true);
    expect(fromOther.map((p) => p.target)).toEqual(targets);
    for (const p of fromOther) {
      expect(p.ok, `${p.target} from ${other}: ${p.detail}`).toBe(false);
      expect(p.detail).toMatch(/refused|unreachable|timed out/i);
    }
  });

  it('a distributed run’s workers rendezvous under their policy and finish; another namespace cannot reach the rendezvous port', async () => {
    const name = 'ddp';
    // The node has two cores: the server goes, and the workers leave room for the probe pod.
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'inferenceservices', name: SERVICE });
    await waitFor('the serving pods to be gone', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `lathe.dev/inference-service=${SERVICE}` })).items.length === 0, 120_000, 1000);
    // Long enough that the workers are still up when the probe runs from the other namespace.
    const run = tinyRun(name, seed)
      .spec({ workers: 2 })
      .resources({ gpus: 0, cpu: '750m', memory: '2Gi' })
      .hyperparameters({ epochs: 6, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 1 })
      .manifest();
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: run });
    const leader = await waitFor('the rank-0 worker to be running', async () => {
      const [p] = (await core.listNamespacedPod({ namespace: ns, labelSelector: `lathe.dev/training-run=${name},batch.kubernetes.io/job-completion-index=0` })).items;
      return p?.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    }, 180_000, 500);
    const rendezvous = leader.spec!.containers[0]!.ports!.find((p) => p.name === 'rendezvous')!.containerPort;
    const [probe] = await probeFrom(other, [`${leader.status!.podIP}:${rendezvous}`]);
    expect(probe!.ok, probe!.detail).toBe(false);
    const phase = await waitFor(`TrainingRun ${name} to finish`, async () => {
      const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name })) as { status?: { phase?: string; message?: string } };
      const p = obj.status?.phase;
      return p === 'Succeeded' || p === 'Failed' ? `${p}: ${obj.status?.message ?? ''}` : undefined;
    }, 300_000, 1000);
    expect(phase).toMatch(/^Succeeded/);
  });
});
