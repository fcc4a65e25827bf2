// spec.expose and the NetworkPolicies end to end, with the operator running as a process under the
// chart's RBAC (gatewayApi.enabled, networkPolicy.workloads.enabled): the API server accepts the
// Ingress, HTTPRoute and NetworkPolicies the operator renders, they point at the service's Service
// and pods, and status shows the external URL once a controller publishes an address. No ingress or
// Gateway controller runs here, so the test writes their status as they would (an ALB's hostname on
// the Ingress, Accepted on the route); the Gateway API CRDs come from the Go module proxy. That the
// policies are enforced (a pod of another namespace refused) is test/real/network-policy.test.ts,
// on the real node, where kube-router enforces them.
import { CustomObjectsApi, NetworkingV1Api, type V1Ingress, type V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../support/builders.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, kubectl, waitFor } from '../support/cluster.js';
import { installGatewayApiCrds } from '../support/gateway-api.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';

const external = process.env.LATHE_E2E_OPERATOR === 'external';
const { kc, core, batch } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const networking = kc.makeApiClient(NetworkingV1Api);
const api = { group: 'lathe.dev', version: 'v1alpha1' };
const ROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const ALB_HOSTNAME = 'internal-k8s-e2e-writer-0123456789.us-east-1.elb.amazonaws.com';
let ns = '';
let operator: OperatorProcess | undefined;
let removeGatewayApi: () => void = () => undefined;

interface Isvc {
  metadata: { name: string; generation?: number };
  status?: { externalUrl?: string; observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string }[] };
}

async function createService(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...api,
    namespace: ns,
    plural: 'inferenceservices',
    body: {
      apiVersion: 'lathe.dev/v1alpha1',
      kind: 'InferenceService',
      metadata: { name },
      spec: { task: 'text-generation', replicas: { min: 1 }, model: { uri: 's3://lathe-artifacts/models/external/v1/checkpoint/' }, resources: { cpu: '100m', memory: '256Mi' }, ...spec },
    },
  });
}
const getService = async (name: string) => (await custom.getNamespacedCustomObject({ ...api, namespace: ns, plural: 'inferenceservices', name })) as Isvc;
const exposed = (s: Isvc) => s.status?.conditions?.find((c) => c.type === 'Exposed');
const ingress = (name: string) => waitFor(`Ingress ${name}`, () => networking.readNamespacedIngress({ name, namespace: ns }));
const gone = (read: () => Promise<unknown>) => read().then(() => false, () => true);

beforeAll(async () => {
  if (external) return;
  ensureCrds();
  removeGatewayApi = installGatewayApiCrds();
  ns = await createNamespace(core, 'e2e-expose', { 'pod-security.kubernetes.io/enforce': 'restricted' }, ['lathe-trainer', 'lathe-inference']);
  operator = await startOperator({
    env: {
      LATHE_WATCH_NAMESPACES: ns,
      LATHE_GATEWAY_API: 'true',
      LATHE_NETWORK_POLICIES: 'true',
      LATHE_NETWORK_POLICY_INGRESS_NAMESPACES: 'kube-system',
      LATHE_NETWORK_POLICY_INGRESS_CIDRS: '10.0.0.0/16',
      LATHE_NETWORK_POLICY_PROMETHEUS_NAMESPACES: 'monitoring',
    },
    chartValues: ['gatewayApi.enabled=true', 'networkPolicy.workloads.enabled=true'],
  });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(core, ns);
  removeGatewayApi();
});

// The in-cluster rerun's operator was installed with the chart's defaults (no Gateway API, no policies).
describe.skipIf(external)('spec.expose and NetworkPolicies', () => {
  it('an Ingress of class alb to the Service, with the ALB defaults; the URL once the controller publishes an address; gone when expose is removed', async () => {
    await createService('writer', { expose: { ingress: { className: 'alb', host: 'writer.models.example.com', tls: {}, annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' } } } });
    const ing: V1Ingress = await ingress('writer');
    expect(ing.spec!.ingressClassName).toBe('alb');
    expect(ing.spec!.rules).toEqual([
      { host: 'writer.models.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'writer', port: { number: 80 } } } }] } },
    ]);
    expect(ing.spec!.tls).toEqual([{ hosts: ['writer.models.example.com'] }]);
    expect(ing.metadata!.annotations).toMatchObject({
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/target-type': 'ip',
      'alb.ingress.kubernetes.io/healthcheck-path': '/readyz',
    });
    expect(ing.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'lathe-operator', 'lathe.dev/inference-service': 'writer' });
    expect(ing.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'InferenceService', name: 'writer', controller: true })]);
    // The backend is the Service the operator made, on its port.
    const svc = await core.readNamespacedService({ name: 'writer', namespace: ns });
    expect(svc.spec!.ports!.map((p) => p.port)).toContain(80);

    const waiting = await waitFor('Exposed=False, waiting for an address', async () => {
      const s = await getService('writer');
      return exposed(s)?.reason === 'WaitingForAddress' ? s : undefined;
    });
    expect(waiting.status!.externalUrl).toBeUndefined();

    // The AWS Load Balancer Controller would now publish the ALB's name.
    kubectl(['patch', 'ingress', 'writer', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ hostname: ALB_HOSTNAME }] } } })]);
    const published = await waitFor('status.externalUrl', async () => {
      const s = await getService('writer');
      return s.status?.externalUrl ? s : undefined;
    });
    expect(published.status!.externalUrl).toBe('https://writer.models.example.com');
    expect(exposed(published)).toMatchObject({ status: 'True', reason: 'AddressPublished', message: expect.stringContaining(ALB_HOSTNAME) });

    kubectl(['patch', 'inferenceservice', 'writer', '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/expose' }])]);
    await waitFor('the Ingress deleted', async () => (await gone(() => networking.readNamespacedIngress({ name: 'writer', namespace: ns }))) || undefined);
    const after = await waitFor('externalUrl gone from status', async () => {
      const s = await getService('writer');
      return s.status?.observedGeneration === s.metadata.generation && !s.status?.externalUrl && !exposed(s) ? s : undefined;
    });
    expect(after.status!.externalUrl).toBeUndefined();
  });

  it('an HTTPRoute to the Service, accepted by the API server with the Gateway API CRDs; the URL once a Gateway accepts it', async () => {
    await createService('routed', { expose: { httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }], hostnames: ['routed.models.example.com'], path: '/v1' } } });
    const route = await waitFor('the HTTPRoute', () => custom.getNamespacedCustomObject({ ...ROUTES, namespace: ns, name: 'routed' }) as Promise<{ metadata: { generation: number; ownerReferences: unknown[] }; spec: Record<string, unknown> }>);
    expect(route.spec).toMatchObject({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'https' }],
      hostnames: ['routed.models.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ group: '', kind: 'Service', name: 'routed', port: 80 }] }],
    });
    expect(route.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'InferenceService', name: 'routed', controller: true })]);
    await waitFor('Exposed=False, waiting for a Gateway', async () => {
      const s = await getService('routed');
      return exposed(s)?.reason === 'WaitingForGateway' ? s : undefined;
    });

    // A Gateway controller accepts the route.
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const parents = [
      {
        parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'https' },
        controllerName: 'example.com/gateway-controller',
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'accepted', observedGeneration: route.metadata.generation, lastTransitionTime: now },
          { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'resolved', observedGeneration: route.metadata.generation, lastTransitionTime: now },
        ],
      },
    ];
    kubectl(['patch', 'httproute', 'routed', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { parents } })]);
    const accepted = await waitFor('status.externalUrl from the route', async () => {
      const s = await getService('routed');
      return s.status?.externalUrl ? s : undefined;
    });
    expect(accepted.status!.externalUrl).toBe('https://routed.models.example.com/v1');
    expect(exposed(accepted)).toMatchObject({ status: 'True', reason: 'RouteAccepted' });
  });

  it("a NetworkPolicy admitting only the service's namespace, the ingress controllers and Prometheus to the serving pods", async () => {
    await createService('guarded', {});
    const np: V1NetworkPolicy = await waitFor('the serving NetworkPolicy', () => networking.readNamespacedNetworkPolicy({ name: 'guarded', namespace: ns }));
    expect(np.spec!.podSelector).toEqual({ matchLabels: { 'lathe.dev/inference-service': 'guarded' } });
    expect(np.spec!.policyTypes).toEqual(['Ingress']);
    // client-node reads `from` as `_from`.
    const from = np.spec!.ingress![0]!._from!;
    expect(from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { ipBlock: { cidr: '10.0.0.0/16' } },
    ]);
    expect(np.spec!.ingress![0]!.ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    expect(np.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'InferenceService', name: 'guarded' })]);
  });

  it("a NetworkPolicy admitting only the run's own pods to a distributed run's workers", async () => {
    await custom.createNamespacedCustomObject({
      ...api,
      namespace: ns,
      plural: 'trainingruns',
      body: makeTrainingRun('ddp').task('image-classification').dataset('builtin:mnist').spec({ model: undefined }).workers(2).resources({ cpu: '100m', memory: '256Mi' }).podAnnotations({ 'sim.lathe.dev/hold': 'true' }).manifest(),
    });
    const np: V1NetworkPolicy = await waitFor('the workers NetworkPolicy', () => networking.readNamespacedNetworkPolicy({ name: 'ddp', namespace: ns }));
    const sameRun = { matchLabels: { 'lathe.dev/training-run': 'ddp' } };
    expect(np.spec!.podSelector).toEqual(sameRun);
    expect(np.spec!.ingress).toEqual([{ _from: [{ podSelector: sameRun }] }]);
    expect(np.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'TrainingRun', name: 'ddp' })]);
    // The pods it selects: the Job's, listening on the rendezvous port.
    const job = await waitFor('Job ddp-1', () => batch.readNamespacedJob({ name: 'ddp-1', namespace: ns }));
    expect(job.spec!.template.metadata!.labels!['lathe.dev/training-run']).toBe('ddp');
  });
});
