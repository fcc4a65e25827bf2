// Reads the canary pods' own /metrics for the rollout's analysis: the ready pods of the canary
// Deployment, each scraped at its pod IP on the server port, as Prometheus does (in the cluster the
// operator reaches pod IPs; out of cluster, on the real node's host, the pod network 10.222.0.0/24 is
// routed). All or nothing: a sum that misses a pod would understate its errors.
import type { V1Pod } from '@kubernetes/client-node';
import type { InferenceService, RolloutCounts } from '../api/schema/inferenceservice.js';
import { DEFAULTS } from '../api/constants.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import { RESOURCES } from '../k8s/resources.js';
import { canarySelector } from './render-canary.js';
import { parseServingMetrics, sumCounts } from './serving-metrics.js';

/** GETs a URL's body as text; fails on a non-2xx answer. */
export type Scrape = (url: string) => Promise<string>;

export const SCRAPE_TIMEOUT_MS = 3_000;

export const fetchScrape: Scrape = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
};

function isReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && Boolean(p.status.podIP) && Boolean(p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) && !p.metadata?.deletionTimestamp;
}

export async function readCanaryCounts(
  writer: Pick<KubeWriter, 'list'>,
  scrape: Scrape,
  isvc: InferenceService,
): Promise<{ counts: RolloutCounts } | { error: string }> {
  const pods = (await writer.list<V1Pod>(RESOURCES.pods, isvc.metadata.namespace!, canarySelector(isvc))).filter(isReady);
  if (pods.length === 0) return { error: 'no ready canary pod' };
  const port = isvc.spec.runtime?.port ?? DEFAULTS.inferencePort;
  try {
    const pages = await Promise.all(pods.map((p) => scrape(`http://${p.status!.podIP!}:${port}/metrics`)));
    return { counts: sumCounts(pages.map(parseServingMetrics)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
