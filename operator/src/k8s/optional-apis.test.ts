import { describe, expect, it } from 'vitest';
import { configWith } from '../../../test/support/config.js';
import { KubeApiError } from '../client/errors.js';
import { requireOptionalApis } from './optional-apis.js';

/** A client whose discovery GET answers `answer(path)`, recording the paths asked. */
const client = (answer: (path: string) => Promise<unknown>) => {
  const asked: string[] = [];
  return { asked, get: <T>(path: string) => (asked.push(path), answer(path) as Promise<T>) };
};
const notFound = () => Promise.reject(new KubeApiError(404, { reason: 'NotFound', message: 'the server could not find the requested resource' }));

describe('requireOptionalApis (start-up, LATHE_KUEUE and LATHE_GATEWAY_API)', () => {
  it('asks nothing when both are off', async () => {
    const c = client(notFound);
    await requireOptionalApis(c, configWith({}));
    expect(c.asked).toEqual([]);
  });

  it('passes when the API server serves httproutes', async () => {
    await expect(requireOptionalApis(client(() => Promise.resolve({ resources: [{ name: 'gateways' }, { name: 'httproutes' }] })), configWith({ gatewayApi: true }))).resolves.toBeUndefined();
  });

  it('stops start-up with one line saying what to do when the CRD is missing', async () => {
    await expect(requireOptionalApis(client(notFound), configWith({ gatewayApi: true }))).rejects.toThrow(
      "LATHE_GATEWAY_API=true, but the API server does not serve gateway.networking.k8s.io/v1 httproutes: install the Gateway API CRDs (v1.0 or later, standard channel) first, or turn HTTPRoute support off (LATHE_GATEWAY_API=false; the chart's gatewayApi.enabled=false)",
    );
    await expect(requireOptionalApis(client(notFound), configWith({ kueue: true }))).rejects.toThrow(
      "LATHE_KUEUE=true, but the API server does not serve kueue.x-k8s.io/v1beta2 workloads: install Kueue (v0.15 or later) first, or turn Kueue support off (LATHE_KUEUE=false; the chart's kueue.enabled=false)",
    );
    // Gateways alone (no HTTPRoute CRD) are not enough.
    await expect(requireOptionalApis(client(() => Promise.resolve({ resources: [{ name: 'gateways' }] })), configWith({ gatewayApi: true }))).rejects.toThrow('does not serve');
  });

  it('checks each API that is on, at its own group and version', async () => {
    const c = client((path) => Promise.resolve({ resources: [{ name: path.includes('kueue') ? 'workloads' : 'httproutes' }] }));
    await requireOptionalApis(c, configWith({ kueue: true, gatewayApi: true }));
    expect(c.asked.sort()).toEqual(['/apis/gateway.networking.k8s.io/v1', '/apis/kueue.x-k8s.io/v1beta2']);
  });

  it('passes other errors through (an unreachable API server is not "not installed")', async () => {
    await expect(requireOptionalApis(client(() => Promise.reject(new KubeApiError(403, { reason: 'Forbidden', message: 'forbidden' }))), configWith({ kueue: true }))).rejects.toThrow('forbidden');
  });
});
