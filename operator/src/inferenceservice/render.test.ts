import { describe, expect, it } from 'vitest';
import scheduling from '../../../schemas/scheduling.json' with { type: 'json' };
import type { InferenceService } from '../api/schema/inferenceservice.js';
import { configWith } from '../../../test/support/config.js';
import { SHUTDOWN_DELAY_S, modelHash, render, serviceUrl } from './render.js';

const config = configWith({ inferenceImage: 'registry.example/lathe-inference:1.0' });

function isvc(spec: Partial<InferenceService['spec']> = {}): InferenceService {
  return {
    apiVersion: 'lathe.dev/v1alpha1',
    kind: 'InferenceService',
    metadata: { name: 'writer', namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: { model: { uri: 's3://b/models/x/1/checkpoint/' }, task: 'text-generation', replicas: { min: 1 }, ...spec },
  };
}

const MODEL = 's3://b/models/x/1/checkpoint/';

describe('render (InferenceService)', () => {
  it('names every child after the service and owns them', () => {
    const r = render({ isvc: isvc(), modelUri: MODEL, config });
    for (const obj of [r.deployment, r.service]) {
      expect(obj.metadata!.name).toBe('writer');
      expect(obj.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'InferenceService', name: 'writer', uid: 'uid-1', controller: true })]);
    }
    expect(serviceUrl(isvc())).toBe('http://writer.ml.svc.cluster.local');
    expect(r.service.spec).toMatchObject({ type: 'ClusterIP', selector: { 'lathe.dev/inference-service': 'writer' }, ports: [{ port: 80, targetPort: 'http' }] });
    expect(render({ isvc: isvc(), modelUri: MODEL, config })).toEqual(r);
  });

  it('asks for GPUs as limits and tolerates the GPU taint only with GPUs', () => {
    const gpu = render({ isvc: isvc({ resources: { gpus: 1, memory: '24Gi' } }), modelUri: MODEL, config }).deployment.spec!.template.spec!;
    expect(gpu.containers[0]!.resources).toEqual({ requests: { cpu: '2', memory: '24Gi', 'nvidia.com/gpu': '1' }, limits: { memory: '24Gi', 'nvidia.com/gpu': '1' } });
    expect(gpu.tolerations).toEqual([{ key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' }]);
    const cpu = render({ isvc: isvc(), modelUri: MODEL, config }).deployment.spec!.template.spec!;
    expect(cpu.tolerations).toBeUndefined();
    expect(cpu.containers[0]!.resources!.limits).not.toHaveProperty('nvidia.com/gpu');
  });

  it('merges the spec\'s scheduling fields with the GPU and spot placement', () => {
    const pod = render({
      isvc: isvc({
        spot: true,
        resources: { gpus: 1 },
        nodeSelector: { 'lathe.dev/node-pool': 'gpu' },
        tolerations: [{ operator: 'Exists' }, { key: scheduling.spotTaint.key, operator: 'Exists', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'example.com/gpu-memory-gb', operator: 'Gt', values: ['20'] }] }] } },
          podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'vector-db' } } }] },
        },
        priorityClassName: 'serving-critical',
      }),
      modelUri: MODEL,
      config,
    }).deployment.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ 'lathe.dev/node-pool': 'gpu' });
    expect(pod.priorityClassName).toBe('serving-critical');
    // Lathe's first, then the user's, the copy of Lathe's spot toleration dropped.
    expect(pod.tolerations).toEqual([
      { key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' },
      { key: scheduling.spotTaint.key, operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists' },
    ]);
    expect(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.operator).toBe('Gt');
    expect(pod.affinity!.nodeAffinity!.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      { weight: 100, preference: { matchExpressions: [{ key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] }] } },
    ]);
    expect(pod.affinity!.podAffinity).toEqual({ requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'vector-db' } } }] });
  });

  it('renders a service without scheduling fields exactly as before they existed (no new applied hash)', () => {
    const pod = render({ isvc: isvc({ spot: true, resources: { gpus: 1 } }), modelUri: MODEL, config }).deployment.spec!.template.spec!;
    expect(Object.keys(pod)).toEqual([
      'serviceAccountName',
      'automountServiceAccountToken',
      'securityContext',
      'terminationGracePeriodSeconds',
      'tolerations',
      'affinity',
      'containers',
      'volumes',
    ]);
    expect(pod.affinity).toEqual({
      nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] }] } }] },
    });
    expect(pod.containers[0]).not.toHaveProperty('envFrom');
    expect(pod.containers[0]!.env!.map((e) => e.name)).not.toContain('AWS_ENDPOINT_URL_S3');
  });

  it('keeps a stopping server serving for a few seconds while the endpoints drop it, unless runtime.env says otherwise', () => {
    const env = (runtime?: { image: string; env: { name: string; value: string }[] }) =>
      render({ isvc: isvc(runtime ? { runtime } : {}), modelUri: MODEL, config }).deployment.spec!.template.spec!.containers[0]!.env!.filter((e) => e.name === 'LATHE_SHUTDOWN_DELAY_S');
    expect(env()).toEqual([{ name: 'LATHE_SHUTDOWN_DELAY_S', value: String(SHUTDOWN_DELAY_S) }]);
    expect(env({ image: 'ghcr.io/acme/lathe-inference:patched', env: [{ name: 'LATHE_SHUTDOWN_DELAY_S', value: '0' }] })).toEqual([{ name: 'LATHE_SHUTDOWN_DELAY_S', value: '0' }]);
    const pod = render({ isvc: isvc(), modelUri: MODEL, config }).deployment.spec!.template.spec!;
    // The delay and the server's 25 s for in-flight requests fit before the kubelet's SIGKILL.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_S + 25);
  });

  it('gives the server an S3 endpoint and the env Secret when configured, and lets runtime.env name its own endpoint', () => {
    const minio = configWith({ ...config, podS3Endpoint: 'http://minio:9000', podEnvSecret: 'lathe-s3' });
    const c = render({ isvc: isvc(), modelUri: MODEL, config: minio }).deployment.spec!.template.spec!.containers[0]!;
    expect(c.env).toContainEqual({ name: 'AWS_ENDPOINT_URL_S3', value: 'http://minio:9000' });
    expect(c.envFrom).toEqual([{ secretRef: { name: 'lathe-s3' } }]);

    const own = render({ isvc: isvc({ runtime: { image: 'vllm/vllm-openai:v0.6.3', env: [{ name: 'AWS_ENDPOINT_URL_S3', value: 'https://s3.internal' }] } }), modelUri: MODEL, config: minio });
    const endpoints = own.deployment.spec!.template.spec!.containers[0]!.env!.filter((e) => e.name === 'AWS_ENDPOINT_URL_S3');
    expect(endpoints).toEqual([{ name: 'AWS_ENDPOINT_URL_S3', value: 'https://s3.internal' }]);
  });

  it('probes readiness on /readyz (model loaded), liveness on /healthz, with a startup window for big downloads', () => {
    const c = render({ isvc: isvc(), modelUri: MODEL, config }).deployment.spec!.template.spec!.containers[0]!;
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe!.periodSeconds! * c.startupProbe!.failureThreshold!).toBeGreaterThanOrEqual(1800);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ LATHE_MODEL_URI: MODEL, LATHE_TASK: 'text-generation', LATHE_MODEL_NAME: 'writer', PORT: '8080' });
  });

  it('never takes a serving pod down during a rollout, and labels pods with their model', () => {
    const d = render({ isvc: isvc({ progressDeadlineSeconds: 120 }), modelUri: MODEL, config }).deployment;
    expect(d.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(d.spec!.progressDeadlineSeconds).toBe(120);
    expect(d.spec!.template.metadata!.labels!['lathe.dev/model-hash']).toBe(modelHash(MODEL));
    expect(d.spec!.template.metadata!.annotations!['lathe.dev/model-uri']).toBe(MODEL);
  });

  it('sets replicas without autoscaling, and leaves them to an HPA (CPU by default) when max > min', () => {
    const fixed = render({ isvc: isvc({ replicas: { min: 3 } }), modelUri: MODEL, config });
    expect(fixed.deployment.spec!.replicas).toBe(3);
    expect(fixed.hpa).toBeUndefined();

    const scaled = render({ isvc: isvc({ replicas: { min: 1, max: 4 } }), modelUri: MODEL, config });
    expect(scaled.deployment.spec).not.toHaveProperty('replicas');
    expect(scaled.hpa!.spec).toMatchObject({
      minReplicas: 1,
      maxReplicas: 4,
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'writer' },
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
    });

    const custom = render({
      isvc: isvc({ replicas: { min: 1, max: 4 }, autoscaling: { podsMetric: { name: 'lathe_inference_inflight_requests', targetAverageValue: '4' } } }),
      modelUri: MODEL,
      config,
    });
    expect(custom.hpa!.spec!.metrics).toEqual([
      { type: 'Pods', pods: { metric: { name: 'lathe_inference_inflight_requests' }, target: { type: 'AverageValue', averageValue: '4' } } },
    ]);
  });

  it('meets the restricted Pod Security profile', () => {
    const pod = render({ isvc: isvc(), modelUri: MODEL, config }).deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('lathe-inference');
    expect(pod.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.containers[0]!.volumeMounts!.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/models']));
  });

  it('runs a bring-your-own server with its image, args and port', () => {
    const c = render({
      isvc: isvc({ runtime: { image: 'vllm/vllm-openai:v0.6.3', args: ['--model', '/models'], port: 8000, env: [{ name: 'VLLM_LOGGING_LEVEL', value: 'INFO' }] } }),
      modelUri: MODEL,
      config,
    }).deployment.spec!.template.spec!.containers[0]!;
    expect(c.image).toBe('vllm/vllm-openai:v0.6.3');
    expect(c.args).toEqual(['--model', '/models']);
    expect(c.ports![0]!.containerPort).toBe(8000);
    expect(c.env).toContainEqual({ name: 'VLLM_LOGGING_LEVEL', value: 'INFO' });
    expect(render({ isvc: isvc(), modelUri: MODEL, config }).deployment.spec!.template.spec!.containers[0]!.image).toBe('registry.example/lathe-inference:1.0');
  });
});
