// Tests of the Helm chart (charts/lathe) and the examples. Run by charts/test.sh:
//   static:  `helm template` with several value sets, assertions on the rendered objects;
//   cluster: (CHART_TEST_CLUSTER=1) `helm install` into fresh namespaces of $KUBECONFIG, RBAC checked
//            with `kubectl auth can-i --as=<operator SA>`, examples applied with --dry-run=server,
//            `helm uninstall` leaves nothing behind.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- rendered manifests are untyped YAML */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, loadConfig } from '../../operator/src/config/operator-config.js';
import { operatorPermissions } from '../support/operator-permissions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const chartDir = path.join(root, 'charts/lathe');
const RELEASE_NS = 'lathe-system';

type Obj = Record<string, any>;

function tool(name: 'helm' | 'kubectl'): string {
  const fromEnv = process.env[name.toUpperCase()];
  if (fromEnv) return fromEnv;
  return execFileSync(path.join(root, 'hack/tools.sh'), ['path', name], { encoding: 'utf8' }).trim();
}
const helm = tool('helm');

function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function render(args: string[] = [], release = 'lathe', namespace = RELEASE_NS): Obj[] {
  const r = run(helm, ['template', release, chartDir, '--namespace', namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function renderFails(args: string[]): string {
  const r = run(helm, ['template', 'lathe', chartDir, '--namespace', RELEASE_NS, ...args]);
  expect(r.code, `helm template ${args.join(' ')} should fail`).not.toBe(0);
  return r.stderr;
}

const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]!;
}
const deployment = (objs: Obj[]) => one(objs, 'Deployment');
const operatorContainer = (objs: Obj[]) => (deployment(objs).spec.template.spec.containers as Obj[]).find((c) => c.name === 'operator')!;
function envOf(objs: Obj[]): Map<string, Obj> {
  return new Map((operatorContainer(objs).env as Obj[]).map((e) => [e.name as string, e]));
}
function envValue(objs: Obj[], name: string): string | undefined {
  return envOf(objs).get(name)?.value as string | undefined;
}
const roleKinds = ['Role', 'ClusterRole'];
/** The operator's ClusterRole as `group/resource:verb` grants, sorted (the core group spelled core). */
function chartGrants(objs: Obj[]): string[] {
  const grants = new Set<string>();
  for (const r of one(objs, 'ClusterRole', 'lathe-operator').rules as Obj[]) {
    for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) for (const v of r.verbs as string[]) grants.add(`${g || 'core'}/${res}:${v}`);
  }
  return [...grants].sort();
}
const rulesOf = (objs: Obj[]) => objs.filter((o) => roleKinds.includes(o.kind as string)).flatMap((r) => (r.rules ?? []) as Obj[]);

/** Pods of every workload kind the chart could render. */
function podSpecs(objs: Obj[]): Obj[] {
  return objs
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'].includes(o.kind as string))
    .map((o) => o.spec.template.spec as Obj)
    .concat(ofKind(objs, 'Pod').map((p) => p.spec as Obj));
}

// Value sets rendered by most tests: defaults, Terraform's helm_values (two namespaces, one
// namespace), a single watched namespace, everything optional switched on.
const TF_VALUES = path.join(chartDir, 'ci/terraform-values.yaml');
const TF_ONE_NS_VALUES = path.join(chartDir, 'ci/terraform-one-namespace-values.yaml');
const VALUE_SETS = {
  defaults: [],
  terraform: ['-f', TF_VALUES],
  terraformOneNamespace: ['-f', TF_ONE_NS_VALUES],
  watchNamespace: ['--set', 'watchNamespace=team-a'],
  everything: [
    '--set', 'metrics.serviceMonitor.enabled=true',
    '--set', 'networkPolicy.enabled=true',
    '--set', 'networkPolicy.apiServer.cidrs={10.0.0.0/16}',
    '--set', 'networkPolicy.workloads.enabled=true',
    '--set', 'gatewayApi.enabled=true',
    '--set', 'metrics.podMonitor.enabled=true',
    '--set', 'metrics.prometheusRule.enabled=true',
    '--set', 'dashboards.enabled=true',
    '--set', 'namespaces.create=true',
    '--set', 'operator.priorityClassName=system-cluster-critical',
    '--set', 'trainingNamespaces={ml,research}',
  ],
} satisfies Record<string, string[]>;

describe('helm template', () => {
  it('renders the expected objects with deterministic names', () => {
    const objs = render();
    const names = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
    expect(names).toEqual(
      [
        'ClusterRole//lathe-edit',
        'ClusterRole//lathe-operator',
        'ClusterRole//lathe-view',
        'ClusterRoleBinding//lathe-operator',
        'Deployment/lathe-system/lathe-operator',
        'PodDisruptionBudget/lathe-system/lathe-operator',
        'Role/lathe-system/lathe-operator-leader-election',
        'RoleBinding/lathe-system/lathe-operator-leader-election',
        'Service/lathe-system/lathe-operator-metrics',
        'ServiceAccount/lathe-system/lathe-operator',
        'ServiceAccount/ml/lathe-inference',
        'ServiceAccount/ml/lathe-trainer',
      ].sort(),
    );
    // Same input, same output: nothing random or time-based in the templates.
    expect(stringify(render())).toBe(stringify(objs));
    // Another release name prefixes every name with it.
    const other = render([], 'ml-platform');
    expect(deployment(other).metadata.name).toBe('ml-platform-lathe-operator');
    expect(one(other, 'ClusterRoleBinding').subjects[0].name).toBe('lathe-operator');
  });

  it('sets every operator setting of CONFIG_ENV, and the operator accepts them', () => {
    const objs = render(['-f', TF_VALUES]);
    const env = envOf(objs);
    for (const name of Object.values(CONFIG_ENV)) expect(env.has(name), `env ${name}`).toBe(true);
    expect(env.get('POD_NAME')!.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.get('LATHE_LEASE_NAMESPACE')!.value).toBe(RELEASE_NS);
    expect(env.get('LATHE_LEADER_ELECTION')!.value).toBe('true');
    expect(env.get('AWS_REGION')!.value).toBe('eu-west-1');

    // The operator's own loader reads the rendered environment without complaint.
    const processEnv: Record<string, string> = { POD_NAME: 'lathe-operator-abc' };
    for (const [k, e] of env) if (typeof e.value === 'string') processEnv[k] = e.value;
    const config = loadConfig(processEnv);
    expect(config).toMatchObject({
      trainerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/lathe/trainer:0.1.0',
      inferenceImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/lathe/inference:0.1.0',
      trainerServiceAccount: 'lathe-trainer',
      inferenceServiceAccount: 'lathe-inference',
      s3Bucket: 'lathe-artifacts-123456789012-eu-west-1',
      watchNamespaces: [],
      workers: 32,
      progressPollMs: 15000,
      resyncMs: 600000,
      metricsPort: 8080,
      leaderElection: true,
      leaseNamespace: RELEASE_NS,
      leaseName: 'lathe-operator',
      identity: 'lathe-operator-abc',
      logLevel: 'info',
      podS3Endpoint: '',
      podEnvSecret: '',
    });
    expect(operatorContainer(objs).image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/lathe/operator:0.1.0');
  });

  it('runs 2 replicas with leader election, probes on 8080, resources and spreading across nodes', () => {
    const objs = render();
    const d = deployment(objs);
    const pod = d.spec.template.spec;
    const c = operatorContainer(objs);
    expect(d.spec.replicas).toBe(2);
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.image).toBe('ghcr.io/lathe-dev/operator:0.1.0');
    expect(c.ports).toEqual([{ name: 'http-metrics', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' }, limits: { cpu: '1', memory: '256Mi', 'ephemeral-storage': '256Mi' } });
    expect(pod.serviceAccountName).toBe('lathe-operator');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect((pod.topologySpreadConstraints as Obj[]).map((t) => t.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of pod.topologySpreadConstraints as Obj[]) expect(t.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(pod.priorityClassName).toBeUndefined();
    expect(deployment(render(['--set', 'operator.priorityClassName=system-cluster-critical'])).spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    // Digest pins the image.
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(operatorContainer(render(['--set', `image.digest=${digest}`, '--set', 'image.tag=1.2.3'])).image).toBe(`ghcr.io/lathe-dev/operator:1.2.3@${digest}`);

    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: d.spec.selector.matchLabels } });
    // One replica: no PDB (minAvailable 1 would block every drain); two without election: refused.
    expect(ofKind(render(['--set', 'operator.replicas=1', '--set', 'operator.leaderElection.enabled=false']), 'PodDisruptionBudget')).toHaveLength(0);
    expect(renderFails(['--set', 'operator.leaderElection.enabled=false'])).toContain('leaderElection');

    const svc = one(objs, 'Service');
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([{ name: 'http-metrics', port: 8080, targetPort: 'http-metrics', protocol: 'TCP' }]);
    expect(ofKind(objs, 'ServiceMonitor')).toHaveLength(0);
    const sm = one(render(['--set', 'metrics.serviceMonitor.enabled=true']), 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.spec.endpoints[0].port).toBe('http-metrics');
    expect(sm.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });

  it.each(Object.entries(VALUE_SETS))('every pod meets Pod Security "restricted" and mounts a writable /tmp (%s)', (_name, args) => {
    const pods = podSpecs(render(args));
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      for (const c of [...((pod.initContainers ?? []) as Obj[]), ...(pod.containers as Obj[])]) {
        const sc = c.securityContext as Obj;
        expect(sc.allowPrivilegeEscalation, c.name as string).toBe(false);
        expect(sc.capabilities).toEqual({ drop: ['ALL'] });
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect(sc.runAsNonRoot).toBe(true);
        expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
        expect(sc.privileged ?? false).toBe(false);
        expect(sc.runAsUser ?? pod.securityContext.runAsUser).not.toBe(0);
      }
    }
  });

  it.each(Object.entries(VALUE_SETS))('RBAC has no wildcard in any verb, resource, apiGroup or name (%s)', (_name, args) => {
    const rules = rulesOf(render(args));
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) {
      for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames', 'nonResourceURLs']) {
        for (const v of (rule[field] ?? []) as string[]) expect(v, `${field} of ${JSON.stringify(rule)}`).not.toContain('*');
      }
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });

  it('grants the operator exactly what its code calls, cluster-wide: derived from the code, no more, no less', async () => {
    const objs = render();
    const role = one(objs, 'ClusterRole', 'lathe-operator');
    const grants = new Set<string>();
    for (const r of role.rules as Obj[]) {
      expect(r.resourceNames, 'no rule of the ClusterRole is limited by name').toBeUndefined();
      for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) for (const v of r.verbs as string[]) grants.add(`${g || 'core'}/${res}:${v}`);
    }
    // What the informers, the writer, the Event sink and the rendered owner references need.
    const needed = await operatorPermissions();
    const expected = needed.workload;
    expect(expected.length).toBeGreaterThan(20);
    expect([...grants].sort()).toEqual(expected.sort());
    const binding = one(objs, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'lathe-operator' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lathe-operator', namespace: RELEASE_NS }]);
  });

  it('grants Kueue Workloads and sets LATHE_KUEUE only with kueue.enabled, or auto on a cluster serving Kueue', async () => {
    const kueue = (args: string[]) => {
      const objs = render(args);
      const grants = new Set<string>();
      for (const r of one(objs, 'ClusterRole', 'lathe-operator').rules as Obj[]) {
        for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) for (const v of r.verbs as string[]) grants.add(`${g || 'core'}/${res}:${v}`);
      }
      const env = ((one(objs, 'Deployment').spec as Obj).template.spec.containers[0].env as { name: string; value: string }[]).find((e) => e.name === 'LATHE_KUEUE');
      return { grants: [...grants].sort(), env: env?.value };
    };
    // What the operator's code calls with LATHE_KUEUE on and off, exactly.
    const on = { grants: (await operatorPermissions({ kueue: true })).workload, env: 'true' };
    const off = { grants: (await operatorPermissions()).workload, env: 'false' };
    expect(on.grants.filter((g) => g.startsWith('kueue.x-k8s.io/'))).toEqual(['kueue.x-k8s.io/workloads:list', 'kueue.x-k8s.io/workloads:patch', 'kueue.x-k8s.io/workloads:watch']);
    expect(kueue([])).toEqual(off);
    expect(kueue(['--set', 'kueue.enabled=true'])).toEqual(on);
    expect(kueue(['--api-versions', 'kueue.x-k8s.io/v1beta2'])).toEqual(on);
    expect(kueue(['--api-versions', 'kueue.x-k8s.io/v1beta2', '--set', 'kueue.enabled=false'])).toEqual(off);
    expect(renderFails(['--set', 'kueue.enabled=maybe'])).toContain('kueue');
  });

  it('grants HTTPRoutes and sets LATHE_GATEWAY_API only with gatewayApi.enabled, or auto on a cluster serving the Gateway API', async () => {
    const gw = (args: string[]) => {
      const objs = render(args);
      return { grants: chartGrants(objs), env: envValue(objs, 'LATHE_GATEWAY_API') };
    };
    // What the operator's code calls with LATHE_GATEWAY_API on and off, exactly.
    const on = { grants: (await operatorPermissions({ gatewayApi: true })).workload, env: 'true' };
    const off = { grants: (await operatorPermissions()).workload, env: 'false' };
    expect(on.grants.filter((g) => g.startsWith('gateway.networking.k8s.io/'))).toEqual(
      ['create', 'delete', 'list', 'patch', 'watch'].map((v) => `gateway.networking.k8s.io/httproutes:${v}`),
    );
    expect(gw([])).toEqual(off);
    expect(gw(['--set', 'gatewayApi.enabled=true'])).toEqual(on);
    expect(gw(['--api-versions', 'gateway.networking.k8s.io/v1/HTTPRoute'])).toEqual(on);
    expect(gw(['--api-versions', 'gateway.networking.k8s.io/v1/HTTPRoute', '--set', 'gatewayApi.enabled=false'])).toEqual(off);
    expect(renderFails(['--set', 'gatewayApi.enabled=maybe'])).toContain('gatewayApi');
  });

  it("renders no NetworkPolicy by default; networkPolicy.workloads turns on the operator's and grants networkpolicies", async () => {
    const objs = render();
    expect(ofKind(objs, 'NetworkPolicy')).toHaveLength(0);
    expect(envValue(objs, 'LATHE_NETWORK_POLICIES')).toBe('false');
    expect(rulesOf(objs).filter((r) => (r.resources as string[]).includes('networkpolicies'))).toEqual([]);

    const on = render([
      '--set', 'networkPolicy.workloads.enabled=true',
      '--set', 'networkPolicy.workloads.ingressNamespaces={ingress-nginx}',
      '--set', 'networkPolicy.workloads.ingressCidrs={10.0.0.0/16,10.1.0.0/16}',
      '--set', 'networkPolicy.workloads.prometheusNamespaces={monitoring,observability}',
    ]);
    // The operator's own policy is a separate switch.
    expect(ofKind(on, 'NetworkPolicy')).toHaveLength(0);
    // Exactly what the operator's code calls with LATHE_NETWORK_POLICIES (delete: the policies carry owner references).
    const needed = (await operatorPermissions({ networkPolicies: true })).workload;
    expect(needed.filter((g) => g.startsWith('networking.k8s.io/networkpolicies'))).toEqual(
      ['create', 'delete', 'list', 'patch', 'watch'].map((v) => `networking.k8s.io/networkpolicies:${v}`),
    );
    expect(chartGrants(on)).toEqual(needed);
    const processEnv: Record<string, string> = {};
    for (const [k, e] of envOf(on)) if (typeof e.value === 'string') processEnv[k] = e.value;
    expect(loadConfig(processEnv)).toMatchObject({
      networkPolicies: true,
      networkPolicyIngressNamespaces: ['ingress-nginx'],
      networkPolicyIngressCidrs: ['10.0.0.0/16', '10.1.0.0/16'],
      networkPolicyPrometheusNamespaces: ['monitoring', 'observability'],
    });
    expect(renderFails(['--set', 'networkPolicy.workloads.ingressCidrs={vpc}'])).toMatch(/ingressCidrs/);
  });

  it('with networkPolicy.enabled, lets the operator reach only the API server, S3 (443), DNS and serving pods\' server port, and be reached only on its metrics port', () => {
    const objs = render(['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServer.cidrs={10.0.0.0/16}']);
    const np = one(objs, 'NetworkPolicy');
    expect(np.metadata).toMatchObject({ name: 'lathe-operator', namespace: RELEASE_NS });
    expect(np.spec.podSelector).toEqual(deployment(objs).spec.selector);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.0.0.0/16' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
      },
      // A canary's analysis reads the serving pods' /metrics (spec.rollout); Lathe's serving pods only.
      {
        to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/component': 'inference', 'app.kubernetes.io/managed-by': 'lathe-operator' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    // Every knob: the API server's ports, S3's ranges, the DNS pods, Prometheus' namespace.
    const custom = one(
      render([
        '--set', 'networkPolicy.enabled=true',
        '--set', 'networkPolicy.apiServer.cidrs={172.20.0.1/32,10.0.12.7/32}',
        '--set', 'networkPolicy.apiServer.ports={443,6443}',
        '--set', 'networkPolicy.s3.cidrs={52.216.0.0/15}',
        '--set', 'networkPolicy.dns.namespace=dns',
        '--set', 'networkPolicy.dns.podLabels.app=node-local-dns',
        '--set', 'networkPolicy.metricsFromNamespaces={monitoring}',
        '--set', 'operator.metricsPort=9090',
        '--set', 'networkPolicy.servingPorts={8000,8080}',
      ]),
      'NetworkPolicy',
    );
    expect(custom.spec.egress[3].ports).toEqual([{ protocol: 'TCP', port: 8000 }, { protocol: 'TCP', port: 8080 }]);
    // servingPorts empty: no rule for serving pods at all.
    const none = one(render(['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServer.cidrs={10.0.0.0/16}', '--set', 'networkPolicy.servingPorts=null']), 'NetworkPolicy');
    expect(none.spec.egress).toHaveLength(3);
    expect(custom.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 9090 }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }]);
    expect(custom.spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: '172.20.0.1/32' } }, { ipBlock: { cidr: '10.0.12.7/32' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] });
    expect(custom.spec.egress[1].to).toEqual([{ ipBlock: { cidr: '52.216.0.0/15' } }]);
    expect(custom.spec.egress[2].to[0]).toEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns', app: 'node-local-dns' } } });
    // helm template sees no cluster to look the API server up in: it says what to set.
    expect(renderFails(['--set', 'networkPolicy.enabled=true'])).toContain('networkPolicy.apiServer.cidrs');
    expect(renderFails(['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServer.cidrs={10.0.0.0}'])).toMatch(/cidrs/);
  });

  it('keeps Leases in a Role of the release namespace, limited to the operator\'s Lease', async () => {
    const leaseNeeded = await operatorPermissions();
    for (const args of Object.values(VALUE_SETS)) {
      const objs = render(args);
      const leaseRoles = objs.filter((o) => roleKinds.includes(o.kind as string) && (o.rules as Obj[]).some((r) => (r.resources as string[]).includes('leases')));
      expect(leaseRoles).toHaveLength(1);
      const role = leaseRoles[0]!;
      expect(role.kind).toBe('Role');
      expect(role.metadata.namespace).toBe(RELEASE_NS);
      const leaseName = envValue(objs, 'LATHE_LEASE_NAME');
      // The verbs are what the Lease lock calls (create cannot be limited by name: the name is in the body).
      const leaseVerbs = (r: Obj) => (r.verbs as string[]).map((v) => `coordination.k8s.io/leases:${v}`);
      expect((role.rules as Obj[]).flatMap(leaseVerbs).sort()).toEqual(leaseNeeded.lease);
      expect(role.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'update'] },
      ]);
      const binding = one(objs, 'RoleBinding', role.metadata.name as string);
      expect(binding.metadata.namespace).toBe(RELEASE_NS);
      expect(binding.roleRef.name).toBe(role.metadata.name);
    }
    const custom = render(['--set', 'operator.leaderElection.leaseName=my-lease']);
    expect(envValue(custom, 'LATHE_LEASE_NAME')).toBe('my-lease');
    expect(one(custom, 'Role').rules[1].resourceNames).toEqual(['my-lease']);
  });

  it('switches to a Role and RoleBinding in the watched namespace when watchNamespace is set', () => {
    const cluster = render();
    const scoped = render(VALUE_SETS.watchNamespace);
    expect(envValue(scoped, 'LATHE_WATCH_NAMESPACES')).toBe('team-a');
    expect(envValue(cluster, 'LATHE_WATCH_NAMESPACES')).toBe('');
    // No cluster-wide grant to the operator: only the aggregated user roles stay ClusterRoles.
    expect(ofKind(scoped, 'ClusterRoleBinding')).toHaveLength(0);
    expect(ofKind(scoped, 'ClusterRole').map((r) => r.metadata.name).sort()).toEqual(['lathe-edit', 'lathe-view']);
    const role = one(scoped, 'Role', 'lathe-operator');
    expect(role.metadata.namespace).toBe('team-a');
    expect(role.rules).toEqual(one(cluster, 'ClusterRole', 'lathe-operator').rules);
    const binding = one(scoped, 'RoleBinding', 'lathe-operator');
    expect(binding.metadata.namespace).toBe('team-a');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lathe-operator' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lathe-operator', namespace: RELEASE_NS }]);
    // The watched namespace gets the workload ServiceAccounts too.
    expect(ofKind(scoped, 'ServiceAccount').filter((s) => s.metadata.namespace === 'team-a').map((s) => s.metadata.name).sort()).toEqual(['lathe-inference', 'lathe-trainer']);
  });

  it('aggregates read access into view and write access into edit/admin', () => {
    const objs = render();
    const view = one(objs, 'ClusterRole', 'lathe-view');
    const edit = one(objs, 'ClusterRole', 'lathe-edit');
    expect(view.metadata.labels).toMatchObject({
      'rbac.authorization.k8s.io/aggregate-to-view': 'true',
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    });
    expect(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-view']).toBeUndefined();
    expect(edit.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' });
    for (const r of view.rules as Obj[]) expect(r.verbs).toEqual(['get', 'list', 'watch']);
    const editMain = (edit.rules as Obj[]).find((r) => (r.resources as string[]).includes('trainingruns'))!;
    expect(editMain.resources).toEqual(['trainingruns', 'inferenceservices']);
    for (const v of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) expect(editMain.verbs).toContain(v);
    // Status stays the operator's: users cannot write it.
    expect((edit.rules as Obj[]).flatMap((r) => r.resources as string[]).filter((r) => r.endsWith('/status'))).toEqual([]);
    expect(ofKind(render(['--set', 'rbac.aggregateToDefaultRoles=false']), 'ClusterRole').map((r) => r.metadata.name)).toEqual(['lathe-operator']);
  });

  it('puts the IRSA role ARNs from Terraform on the operator, trainer and inference ServiceAccounts', () => {
    const objs = render(['-f', TF_VALUES]);
    const sas = ofKind(objs, 'ServiceAccount');
    const arn = (ns: string, name: string) => sas.find((s) => s.metadata.namespace === ns && s.metadata.name === name)?.metadata.annotations?.['eks.amazonaws.com/role-arn'] as string | undefined;
    expect(arn(RELEASE_NS, 'lathe-operator')).toBe('arn:aws:iam::123456789012:role/lathe-operator');
    for (const ns of ['ml', 'research']) {
      expect(arn(ns, 'lathe-trainer')).toBe(`arn:aws:iam::123456789012:role/lathe-trainer-${ns}`);
      expect(arn(ns, 'lathe-inference')).toBe(`arn:aws:iam::123456789012:role/lathe-inference-${ns}`);
    }
    expect(sas).toHaveLength(5);
    // The names the operator gives pods are the names the chart creates.
    expect(envValue(objs, 'LATHE_TRAINER_SERVICE_ACCOUNT')).toBe('lathe-trainer');
    expect(envValue(objs, 'LATHE_INFERENCE_SERVICE_ACCOUNT')).toBe('lathe-inference');
    for (const s of sas.filter((s) => s.metadata.namespace !== RELEASE_NS)) expect(s.automountServiceAccountToken).toBe(false);

    // One namespace (roleArn and roleArnByNamespace both set): same result.
    const oneNs = ofKind(render(['-f', TF_ONE_NS_VALUES]), 'ServiceAccount');
    expect(oneNs.map((s) => `${s.metadata.namespace}/${s.metadata.name}=${s.metadata.annotations?.['eks.amazonaws.com/role-arn']}`).sort()).toEqual([
      `${RELEASE_NS}/lathe-operator=arn:aws:iam::123456789012:role/lathe-operator`,
      'ml/lathe-inference=arn:aws:iam::123456789012:role/lathe-inference-ml',
      'ml/lathe-trainer=arn:aws:iam::123456789012:role/lathe-trainer-ml',
    ]);

    // roleArn alone applies to every training namespace; roleArnByNamespace wins where given;
    // operator.serviceAccount.roleArn is a shortcut for the annotation.
    const shared = ofKind(
      render([
        '--set', 'trainingNamespaces={a,b}',
        '--set', 'trainer.serviceAccount.roleArn=arn:aws:iam::111111111111:role/t',
        '--set', 'trainer.serviceAccount.roleArnByNamespace.b=arn:aws:iam::111111111111:role/tb',
        '--set', 'operator.serviceAccount.roleArn=arn:aws:iam::111111111111:role/op',
      ]),
      'ServiceAccount',
    );
    const get = (ns: string, n: string) => shared.find((s) => s.metadata.namespace === ns && s.metadata.name === n)?.metadata.annotations;
    expect(get('a', 'lathe-trainer')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111111111111:role/t' });
    expect(get('b', 'lathe-trainer')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111111111111:role/tb' });
    expect(get('a', 'lathe-inference')).toBeUndefined();
    expect(get(RELEASE_NS, 'lathe-operator')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111111111111:role/op' });
    // Renamed ServiceAccounts: the operator is told the new names.
    const renamed = render(['--set', 'trainer.serviceAccount.name=trainer-x', '--set', 'inference.serviceAccount.name=server-x']);
    expect(envValue(renamed, 'LATHE_TRAINER_SERVICE_ACCOUNT')).toBe('trainer-x');
    expect(envValue(renamed, 'LATHE_INFERENCE_SERVICE_ACCOUNT')).toBe('server-x');
    expect(ofKind(renamed, 'ServiceAccount').map((s) => s.metadata.name).sort()).toEqual(['lathe-operator', 'server-x', 'trainer-x']);
  });

  it('accepts every key terraform/outputs.tf writes into helm_values', () => {
    const paths = helmValuesPaths(readFileSync(path.join(root, 'terraform/outputs.tf'), 'utf8'));
    expect(paths).toEqual(
      expect.arrayContaining(['aws.region', 'aws.s3Bucket', 'image.registry', 'operator.serviceAccount.name', 'trainer.serviceAccount.roleArnByNamespace']),
    );
    const values = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Obj;
    const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as Obj;
    for (const p of paths) {
      // A map-valued key (annotations, roleArnByNamespace) ends the path: its own keys are data.
      const parts = p.split('.');
      let v: unknown = values;
      let s: Obj | undefined = schema;
      for (const part of parts) {
        if (v !== null && typeof v === 'object' && part in v) {
          v = (v as Obj)[part];
          s = (s?.properties as Obj | undefined)?.[part] as Obj | undefined;
        } else if (s?.additionalProperties && typeof s.additionalProperties === 'object') {
          break; // a free-form map (annotations): its keys are data
        } else {
          throw new Error(`values.yaml has no ${p} (written by terraform/outputs.tf helm_values)`);
        }
      }
    }
    // The ci/ files mirror Terraform's output: no key Terraform does not write.
    for (const file of [TF_VALUES, TF_ONE_NS_VALUES]) {
      for (const p of leafPaths(parse(readFileSync(file, 'utf8')) as Obj)) {
        expect(paths.some((tf) => p === tf || p.startsWith(`${tf}.`)), `${path.basename(file)}: ${p}`).toBe(true);
      }
    }
  });

  it('rejects bad values through values.schema.json', () => {
    expect(renderFails(['--set', 'operator.logLevel=verbose'])).toMatch(/logLevel/);
    expect(renderFails(['--set', 'operator.workers=0'])).toMatch(/workers/);
    expect(renderFails(['--set', 'operatr.replicas=3'])).toMatch(/operatr/);
    expect(renderFails(['--set', 'trainer.serviceAccount.roleArn=not-an-arn'])).toMatch(/roleArn/);
    expect(renderFails(['--set', 'watchNamespace=Team_A'])).toMatch(/watchNamespace/);
    expect(renderFails(['--set', 'image.pullPolicy=Sometimes'])).toMatch(/pullPolicy/);
    expect(renderFails(['--set', 'operator.serviceAccount.automountServiceAccountToken=false'])).toMatch(/automountServiceAccountToken/);
    expect(renderFails(['--set', 'operator.extraEnv[0].name=LATHE_S3_BUCKET', '--set', 'operator.extraEnv[0].value=x'])).toContain('set by the chart');
    expect(renderFails(['--set', 'operator.extraEnv[0].name=LATHE_POD_ENV_SECRET', '--set', 'operator.extraEnv[0].value=x'])).toContain('set by the chart');
    expect(renderFails(['--set', 'aws.podS3Endpoint=minio:9000'])).toMatch(/podS3Endpoint/);
    expect(renderFails(['--set', 'aws.podEnvSecret=S3_Keys'])).toMatch(/podEnvSecret/);
    // A good extra variable passes through.
    const extra = render(['--set', 'operator.extraEnv[0].name=AWS_ENDPOINT_URL_S3', '--set', 'operator.extraEnv[0].value=http://minio:9000']);
    expect(envValue(extra, 'AWS_ENDPOINT_URL_S3')).toBe('http://minio:9000');
  });

  it("gives the pods no S3 endpoint or env Secret by default (IRSA on EKS), and aws.pod* for S3-compatible stores", () => {
    for (const objs of [render(), render(['-f', TF_VALUES])]) {
      expect(envValue(objs, 'LATHE_POD_S3_ENDPOINT')).toBe('');
      expect(envValue(objs, 'LATHE_POD_ENV_SECRET')).toBe('');
    }
    const minio = render(['--set', 'aws.podS3Endpoint=http://minio.lathe-system.svc:9000', '--set', 'aws.podEnvSecret=lathe-s3']);
    expect(envValue(minio, 'LATHE_POD_S3_ENDPOINT')).toBe('http://minio.lathe-system.svc:9000');
    expect(envValue(minio, 'LATHE_POD_ENV_SECRET')).toBe('lathe-s3');
    const processEnv: Record<string, string> = {};
    for (const [k, e] of envOf(minio)) if (typeof e.value === 'string') processEnv[k] = e.value;
    expect(loadConfig(processEnv)).toMatchObject({ podS3Endpoint: 'http://minio.lathe-system.svc:9000', podEnvSecret: 'lathe-s3' });
  });

  it('creates the training namespaces with Pod Security "restricted" only when asked, kept on uninstall', () => {
    expect(ofKind(render(), 'Namespace')).toHaveLength(0);
    const nss = ofKind(render(VALUE_SETS.everything), 'Namespace');
    expect(nss.map((n) => n.metadata.name)).toEqual(['ml', 'research']);
    for (const n of nss) {
      expect(n.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(n.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    }
    const notKept = ofKind(render(['--set', 'namespaces.create=true', '--set', 'namespaces.keepOnUninstall=false']), 'Namespace');
    expect(notKept[0]!.metadata.annotations).toBeUndefined();
  });

  it('ships the CRDs of crds/ unchanged (run charts/sync-crds.sh after a schema change)', () => {
    const src = readdirSync(path.join(root, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    const dst = readdirSync(path.join(chartDir, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    expect(dst).toEqual(src);
    for (const f of src) {
      const a = readFileSync(path.join(root, 'crds', f), 'utf8');
      const b = readFileSync(path.join(chartDir, 'crds', f), 'utf8');
      expect(b === a, `charts/lathe/crds/${f} differs from crds/${f}: run charts/sync-crds.sh`).toBe(true);
    }
    const check = run(path.join(root, 'charts/sync-crds.sh'), ['--check']);
    expect(check.code, check.stderr).toBe(0);
    const withCrds = render(['--include-crds']);
    expect(ofKind(withCrds, 'CustomResourceDefinition').map((c) => c.metadata.name).sort()).toEqual(['inferenceservices.lathe.dev', 'trainingruns.lathe.dev']);
  });

  it('ships Argo CD health checks equal to the Lua sources', () => {
    const patch = parse(readFileSync(path.join(chartDir, 'argocd/argocd-cm-patch.yaml'), 'utf8')) as Obj;
    expect(patch.data['resource.customizations.health.lathe.dev_TrainingRun']).toBe(readFileSync(path.join(chartDir, 'argocd/trainingrun-health.lua'), 'utf8'));
    expect(patch.data['resource.customizations.health.lathe.dev_InferenceService']).toBe(readFileSync(path.join(chartDir, 'argocd/inferenceservice-health.lua'), 'utf8'));
  });

  const lua = ['lua5.4', 'lua'].find((l) => run('sh', ['-c', `command -v ${l}`]).code === 0);
  it.skipIf(!lua)('the Argo CD health checks give the expected health for each status (Lua)', () => {
    const r = run(lua!, [path.join(chartDir, 'argocd/run-tests.lua'), path.join(chartDir, 'argocd')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/(\d+)\/\1 health cases passed/);
  });
});

describe('examples', () => {
  it('are well-formed Lathe objects in namespace ml', () => {
    const files = exampleFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        'trainingrun-smol-llama.yaml',
        'trainingrun-mnist-distributed.yaml',
        'trainingrun-queued.yaml',
        'inferenceservice-smol-llama.yaml',
        'inferenceservice-sana-sprint.yaml',
        'inferenceservice-exposed.yaml',
        'argocd-application.yaml',
        'namespace.yaml',
      ]),
    );
    const all = files.flatMap((f) => exampleDocs(f));
    const byName = new Map(all.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    const smol = byName.get('TrainingRun/smol-llama-stories')!;
    expect(smol.spec).toMatchObject({ model: 'hf://BEE-spoke-data/smol_llama-101M-GQA', task: 'text-generation', spot: true, resources: { gpus: 1 } });
    expect(smol.spec.dataset.uri).toMatch(/^s3:\/\//);
    expect(smol.spec.maxRuntime && smol.spec.retries && smol.spec.ttlAfterFinished).toBeTruthy();
    expect(byName.get('TrainingRun/mnist-ddp')!.spec).toMatchObject({ task: 'image-classification', dataset: { uri: 'builtin:mnist' }, workers: 2, resources: { gpus: 1 } });
    expect(byName.get('TrainingRun/smol-llama-queued')!.spec.queue).toBeTruthy();
    expect(byName.get('InferenceService/story-writer')!.spec).toMatchObject({ model: { trainingRun: 'smol-llama-stories' }, task: 'text-generation', replicas: { min: 1, max: 3 } });
    expect(byName.get('InferenceService/sana-sprint')!.spec).toMatchObject({ model: { uri: 'hf://Efficient-Large-Model/Sana_Sprint_1.6B_1024px' }, task: 'text-to-image', resources: { gpus: 1, memory: '24Gi' } });
    expect(byName.get('InferenceService/story-writer-public')!.spec.expose).toMatchObject({ ingress: { className: 'alb', host: 'story-writer.models.example.com', tls: {} } });
    expect(byName.get('InferenceService/story-writer-routed')!.spec.expose.httpRoute.parentRefs[0]).toMatchObject({ name: 'public', namespace: 'gateway-system' });
    expect(byName.get('Namespace/ml')!.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const apps = all.filter((o) => o.kind === 'Application');
    expect(apps.map((a) => a.spec.source.path).sort()).toEqual(['charts/lathe', 'examples']);
    for (const o of all.filter((o) => o.apiVersion === 'lathe.dev/v1alpha1')) expect(o.metadata.namespace).toBe('ml');
  });
});

// ---------------------------------------------------------------------------------------------
// Against the cluster $KUBECONFIG names (charts/test.sh cluster).

const clusterEnabled = process.env.CHART_TEST_CLUSTER === '1';
describe.runIf(clusterEnabled)('on the cluster', () => {
  const kubectl = tool('kubectl');
  const id = randomBytes(3).toString('hex');
  const releaseNs = `lathe-chart-${id}`;
  const trainNs = `lathe-chart-ml-${id}`;
  const watchReleaseNs = `lathe-chart-w-${id}`;
  const watchNs = `lathe-chart-team-${id}`;
  const release = `lathe-ct-${id}`; // its own ClusterRole names: never touches another install's
  const watchRelease = `lathe-ctw-${id}`;
  const sa = (ns: string) => `system:serviceaccount:${ns}:lathe-operator`;
  const k = (...args: string[]) => run(kubectl, args);
  const kOk = (...args: string[]) => {
    const r = k(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const canI = (as: string, ...args: string[]) => {
    const r = k('auth', 'can-i', `--as=${as}`, ...args);
    // 0: yes, 1: no; anything else (bad resource name, no cluster) is an error, not a "no".
    if (r.code !== 0 && r.stdout.trim() !== 'no') throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    return r.code === 0;
  };
  const helmOk = (...args: string[]) => {
    const r = run(helm, args);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    // The examples and CRs must be judged by the CRDs in crds/ (as the e2e suite installs them).
    kOk('apply', '--server-side', '--force-conflicts', '--field-manager=lathe-e2e', '-f', path.join(root, 'crds'));
    kOk('wait', '--for=condition=Established', '--timeout=60s', 'crd/trainingruns.lathe.dev', 'crd/inferenceservices.lathe.dev');
    // The release namespace enforces Pod Security "restricted": the operator pods must pass admission.
    for (const ns of [releaseNs, watchReleaseNs, watchNs]) {
      kOk('create', 'namespace', ns);
      kOk('label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'lathe.dev/e2e=true');
    }
  });

  afterAll(() => {
    for (const [r, ns] of [[release, releaseNs], [watchRelease, watchReleaseNs]] as const) run(helm, ['uninstall', r, '--namespace', ns, '--ignore-not-found']);
    for (const ns of [releaseNs, trainNs, watchReleaseNs, watchNs]) k('delete', 'namespace', ns, '--ignore-not-found', '--wait=false');
  });

  // The operator pods land on the system pool, which here is kwok's simulated nodes: kwok reports
  // them Running and Ready without starting a container, so this shows that the chart installs,
  // that its pods pass Pod Security admission and get scheduled, not that the operator runs. That
  // both replicas really run and pass their /readyz probe, one holding the Lease, under this RBAC,
  // is test/real/helm.test.ts (the same chart, two replicas, on the real node).
  it('helm install --wait succeeds: both operator replicas are admitted and scheduled (on simulated nodes)', () => {
    const t0 = Date.now();
    helmOk(
      'install', release, chartDir, '--namespace', releaseNs, '--wait', '--timeout', '180s',
      '--set', `trainingNamespaces={${trainNs}}`,
      '--set', 'namespaces.create=true',
      '--set', 'operator.serviceAccount.roleArn=arn:aws:iam::123456789012:role/lathe-operator',
      '--set', `trainer.serviceAccount.roleArnByNamespace.${trainNs}=arn:aws:iam::123456789012:role/lathe-trainer-ml`,
      // The system pool: kwok's simulated nodes (no container runs there).
      '--set', 'operator.nodeSelector.lathe\\.dev/node-pool=system',
    );
    console.log(`helm install --wait: ${Date.now() - t0} ms`);
    const pods = JSON.parse(kOk('get', 'pods', '-n', releaseNs, '-l', 'app.kubernetes.io/component=operator', '-o', 'json')) as Obj;
    expect(pods.items).toHaveLength(2);
    const simulated = new Set(((JSON.parse(kOk('get', 'nodes', '-l', 'type=kwok', '-o', 'json')) as Obj).items as Obj[]).map((n) => n.metadata.name as string));
    for (const p of pods.items as Obj[]) {
      // Admitted into a "restricted" namespace and bound to a node of the pool the values chose.
      expect(simulated.has(p.spec.nodeName as string), `${p.metadata.name} on ${p.spec.nodeName}, a simulated node`).toBe(true);
      expect(p.status.phase).toBe('Running'); // as kwok reports it
      expect(p.spec.serviceAccountName).toBe('lathe-operator');
    }
    const dep = JSON.parse(kOk('get', 'deployment', `${release}-operator`, '-n', releaseNs, '-o', 'json')) as Obj;
    expect(dep.status.readyReplicas).toBe(2);
    // Training namespace created with the Pod Security label, workload ServiceAccounts in it.
    const ns = JSON.parse(kOk('get', 'namespace', trainNs, '-o', 'json')) as Obj;
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const trainer = JSON.parse(kOk('get', 'serviceaccount', 'lathe-trainer', '-n', trainNs, '-o', 'json')) as Obj;
    expect(trainer.metadata.annotations['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/lathe-trainer-ml');
    kOk('get', 'serviceaccount', 'lathe-inference', '-n', trainNs);
  });

  it('gives the operator ServiceAccount what it needs and nothing more', () => {
    const me = sa(releaseNs);
    const lease = `${release}-operator`;
    const yes: string[][] = [
      ['create', 'jobs.batch', '-n', trainNs],
      ['patch', 'jobs.batch', '-n', trainNs],
      ['watch', 'jobs.batch', '--all-namespaces'],
      ['list', 'trainingruns.lathe.dev', '--all-namespaces'],
      ['watch', 'inferenceservices.lathe.dev', '--all-namespaces'],
      ['patch', 'trainingruns.lathe.dev', '--subresource=status', '-n', trainNs],
      ['patch', 'inferenceservices.lathe.dev', '--subresource=status', '-n', trainNs],
      ['update', 'trainingruns.lathe.dev', '--subresource=finalizers', '-n', trainNs],
      ['list', 'pods', '--all-namespaces'],
      ['create', 'services', '-n', trainNs],
      ['patch', 'deployments.apps', '-n', trainNs],
      ['list', 'replicasets.apps', '-n', trainNs],
      ['delete', 'horizontalpodautoscalers.autoscaling', '-n', trainNs],
      ['patch', 'ingresses.networking.k8s.io', '-n', trainNs],
      ['watch', 'ingresses.networking.k8s.io', '--all-namespaces'],
      ['create', 'events', '-n', trainNs],
      ['watch', 'events', '--all-namespaces'],
      ['patch', 'events', '-n', trainNs],
      ['create', 'leases.coordination.k8s.io', '-n', releaseNs],
      ['get', `leases.coordination.k8s.io/${lease}`, '-n', releaseNs],
      ['update', `leases.coordination.k8s.io/${lease}`, '-n', releaseNs],
    ];
    const no: string[][] = [
      ['delete', 'nodes'],
      // Dropped when the grants became what the code calls (test/support/operator-permissions.ts).
      ['get', 'pods', '-n', trainNs],
      ['update', 'trainingruns.lathe.dev', '--subresource=status', '-n', trainNs],
      ['create', 'events.events.k8s.io', '-n', trainNs],
      ['get', 'secrets', '-n', trainNs],
      ['list', 'secrets', '--all-namespaces'],
      ['get', 'configmaps', '-n', trainNs],
      ['create', 'pods', '-n', trainNs],
      ['delete', 'pods', '-n', trainNs],
      ['delete', 'replicasets.apps', '-n', trainNs],
      ['create', 'networkpolicies.networking.k8s.io', '-n', trainNs],
      ['create', 'pods/exec', '-n', trainNs],
      ['update', 'trainingruns.lathe.dev', '-n', trainNs],
      ['patch', 'trainingruns.lathe.dev', '-n', trainNs],
      ['delete', 'trainingruns.lathe.dev', '-n', trainNs],
      ['create', 'inferenceservices.lathe.dev', '-n', trainNs],
      ['update', `leases.coordination.k8s.io/some-other-lease`, '-n', releaseNs],
      ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['get', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', trainNs],
      ['create', 'serviceaccounts/token', '-n', trainNs],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['delete', 'namespaces'],
    ];
    for (const args of yes) expect(canI(me, ...args), `can ${args.join(' ')}`).toBe(true);
    for (const args of no) expect(canI(me, ...args), `cannot ${args.join(' ')}`).toBe(false);
    // A namespace user with the built-in "view" role reads TrainingRuns through aggregation, "edit" writes them.
    const user = `chart-test-user-${id}`;
    kOk('create', 'rolebinding', 'viewer', '--clusterrole=view', `--user=${user}`, '-n', trainNs);
    expect(canI(user, 'list', 'trainingruns.lathe.dev', '-n', trainNs)).toBe(true);
    expect(canI(user, 'create', 'trainingruns.lathe.dev', '-n', trainNs)).toBe(false);
    const editor = `chart-test-editor-${id}`;
    kOk('create', 'rolebinding', 'editor', '--clusterrole=edit', `--user=${editor}`, '-n', trainNs);
    expect(canI(editor, 'create', 'trainingruns.lathe.dev', '-n', trainNs)).toBe(true);
    expect(canI(editor, 'delete', 'inferenceservices.lathe.dev', '-n', trainNs)).toBe(true);
    expect(canI(editor, 'patch', 'trainingruns.lathe.dev', '--subresource=status', '-n', trainNs)).toBe(false);
  });

  it('with watchNamespace, the operator can act only in that namespace', () => {
    helmOk(
      'install', watchRelease, chartDir, '--namespace', watchReleaseNs, '--wait', '--timeout', '180s',
      '--set', `watchNamespace=${watchNs}`,
      '--set', 'trainingNamespaces=null',
      '--set', 'rbac.aggregateToDefaultRoles=false',
      '--set', 'operator.replicas=1',
      '--set', 'operator.nodeSelector.lathe\\.dev/node-pool=system',
    );
    const me = sa(watchReleaseNs);
    expect(canI(me, 'create', 'jobs.batch', '-n', watchNs)).toBe(true);
    expect(canI(me, 'patch', 'trainingruns.lathe.dev', '--subresource=status', '-n', watchNs)).toBe(true);
    expect(canI(me, 'watch', 'pods', '-n', watchNs)).toBe(true);
    expect(canI(me, 'create', 'jobs.batch', '-n', trainNs)).toBe(false);
    expect(canI(me, 'list', 'trainingruns.lathe.dev', '--all-namespaces')).toBe(false);
    expect(canI(me, 'create', 'leases.coordination.k8s.io', '-n', watchReleaseNs)).toBe(true);
    kOk('get', 'serviceaccount', 'lathe-trainer', '-n', watchNs);
    helmOk('uninstall', watchRelease, '--namespace', watchReleaseNs, '--wait');
  });

  it('every example passes kubectl apply --dry-run=server against the real CRDs', () => {
    let checked = 0;
    for (const file of exampleFiles()) {
      for (const doc of exampleDocs(file)) {
        if (doc.apiVersion === 'argoproj.io/v1alpha1') continue; // Argo CD's CRDs are not installed here
        // Into the test's own namespace, so the shared cluster's "ml" is never needed or touched.
        if (doc.metadata.namespace === 'ml') doc.metadata.namespace = trainNs;
        const r = run(kubectl, ['apply', '--dry-run=server', '-f', '-'], input(doc));
        expect(r.code, `${file} ${doc.kind}/${doc.metadata.name}: ${r.stderr}`).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
    // The dry run does judge: an invalid TrainingRun is refused with the field named.
    const bad = exampleDocs('trainingrun-mnist-distributed.yaml')[0]!;
    bad.metadata.namespace = trainNs;
    bad.spec.workers = 0;
    const r = run(kubectl, ['apply', '--dry-run=server', '-f', '-'], input(bad));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.workers/);
  });

  it('helm uninstall removes everything the chart created but the CRDs and kept namespaces', () => {
    helmOk('uninstall', release, '--namespace', releaseNs, '--wait');
    const left = k('get', 'deployment,serviceaccount,role,rolebinding,service,poddisruptionbudget', '-n', releaseNs, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name');
    expect(left.code).toBe(0);
    expect(left.stdout.trim()).toBe('');
    for (const name of [`${release}-operator`, `${release}-view`, `${release}-edit`]) {
      expect(k('get', 'clusterrole', name).code, `clusterrole ${name} is gone`).not.toBe(0);
    }
    expect(k('get', 'clusterrolebinding', `${release}-operator`).code).not.toBe(0);
    expect(k('get', 'serviceaccount', 'lathe-trainer', '-n', trainNs).code).not.toBe(0);
    // Kept on purpose: CRDs (Helm never deletes crds/) and the created namespace (resource-policy keep).
    kOk('get', 'crd', 'trainingruns.lathe.dev', 'inferenceservices.lathe.dev');
    kOk('get', 'namespace', trainNs);
  });

  function input(doc: Obj): string {
    return stringify(doc);
  }
});

// ---------------------------------------------------------------------------------------------

function exampleFiles(): string[] {
  return readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort();
}

function exampleDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(path.join(root, 'examples', file), 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function leafPaths(o: Obj, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v as Obj).length > 0 ? leafPaths(v as Obj, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

/**
 * The key paths of the object in `output "helm_values" { value = yamlencode({...}) }`: enough HCL
 * for that expression. `key = {` opens a level, a bare `{` (merge arguments, `for` expressions) is
 * transparent, and a map built by a `for` expression (`{ for ns in ...: ns => ... }`) ends the path.
 */
function helmValuesPaths(tf: string): string[] {
  const start = tf.indexOf('output "helm_values"');
  if (start < 0) throw new Error('terraform/outputs.tf has no helm_values output');
  let body = tf.slice(tf.indexOf('yamlencode(', start) + 'yamlencode('.length);
  body = body
    .replace(/#[^\n]*/g, '')
    // "quoted keys" = ... keep their text, other strings become a placeholder (they hold ${...}).
    .replace(/"((?:[^"\\]|\\.)*)"(\s*=(?!=|>))/g, (_m, key: string, eq: string) => `${key.replace(/[^A-Za-z0-9_./-]/g, '_')}${eq}`)
    .replace(/"(?:[^"\\]|\\.)*"/g, 'S');
  const paths = new Set<string>();
  // One entry per open `(` or `{`: the key it is the value of (`key = merge(`, `key = {`), or null.
  const stack: (string | null)[] = [];
  let pendingKey: string | null = null;
  let forDepth: number | null = null; // inside `key = { for ... }` (a map built from data)
  let openedKeyed = false; // the previous token was `{` opened as `key = {`
  const tokens = body.match(/[A-Za-z0-9_./-]+\s*=(?!=|>)|\{|\}|\(|\)|=>|\bfor\b/g) ?? [];
  for (const tok of tokens) {
    const justOpened = openedKeyed;
    openedKeyed = false;
    if (tok === '(' || tok === '{') {
      openedKeyed = tok === '{' && pendingKey !== null;
      stack.push(pendingKey);
      pendingKey = null;
      continue;
    }
    if (tok === ')' || tok === '}') {
      if (stack.length === 0) break; // the `)` closing yamlencode(
      if (forDepth !== null && stack.length === forDepth) forDepth = null;
      stack.pop();
      pendingKey = null;
      continue;
    }
    if (tok === 'for') {
      if (justOpened && forDepth === null) forDepth = stack.length;
      continue;
    }
    if (tok === '=>' || forDepth !== null) continue;
    const key = tok.replace(/\s*=$/, '');
    const here = stack.filter((k): k is string => k !== null);
    paths.add([...here, key].join('.'));
    for (let n = 1; n <= here.length; n++) paths.delete(here.slice(0, n).join('.'));
    pendingKey = key;
  }
  return [...paths].sort();
}
