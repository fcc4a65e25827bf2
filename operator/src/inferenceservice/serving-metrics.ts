// What a canary's analysis reads from a serving pod's /metrics (the inference server's
// lathe_inference/metrics.py, Prometheus text format): requests of the generation routes by status
// code, and their latency histogram. Probes, /metrics and /v1/models are not the model's answers
// and are left out. Pure: the text in, the counts out; summed over pods by sumCounts.
import type { RolloutCounts } from '../api/schema/inferenceservice.js';

/** The routes whose answers judge a model (guard.py's route labels). */
export const GENERATION_ROUTES: ReadonlySet<string> = new Set(['/v1/completions', '/v1/chat/completions', '/v1/images/generations', '/generate/text', '/generate/image']);
export const REQUESTS_METRIC = 'lathe_requests_total';
export const LATENCY_BUCKET_METRIC = 'lathe_request_duration_seconds_bucket';

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const m of text.matchAll(LABEL_RE)) out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

/** Bucket bounds in the order a histogram is read: numerically, +Inf last. */
function leValue(le: string): number {
  return le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
}

/** The generation routes' requests, 5xx answers and latency buckets of one pod's /metrics text. */
export function parseServingMetrics(text: string): RolloutCounts {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) continue;
    const [, name, labelText, valueText] = m;
    if (name !== REQUESTS_METRIC && name !== LATENCY_BUCKET_METRIC) continue;
    const labels = labelsOf(labelText);
    if (!GENERATION_ROUTES.has(labels.route ?? '')) continue;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (name === REQUESTS_METRIC) {
      requests += value;
      if ((labels.code ?? '').startsWith('5')) errors += value;
    } else if (labels.le !== undefined) {
      const le = labels.le === '+Inf' ? '+Inf' : String(Number(labels.le));
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { requests, errors, buckets: sortedBuckets(buckets) };
}

function sortedBuckets(m: Map<string, number>): RolloutCounts['buckets'] {
  return [...m.entries()].sort((a, b) => leValue(a[0]) - leValue(b[0])).map(([le, count]) => ({ le, count }));
}

/** The counts of several pods added up (bucket by bucket). */
export function sumCounts(all: readonly RolloutCounts[]): RolloutCounts {
  const buckets = new Map<string, number>();
  let requests = 0;
  let errors = 0;
  for (const c of all) {
    requests += c.requests;
    errors += c.errors;
    for (const b of c.buckets) buckets.set(b.le, (buckets.get(b.le) ?? 0) + b.count);
  }
  return { requests, errors, buckets: sortedBuckets(buckets) };
}

/**
 * `now` minus `base`: what happened since the step started. Undefined when a counter went down (a
 * pod restarted or went away, so its counts are gone): the caller starts counting again from `now`.
 */
export function countsSince(base: RolloutCounts, now: RolloutCounts): RolloutCounts | undefined {
  const before = new Map(base.buckets.map((b) => [b.le, b.count]));
  const buckets = now.buckets.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }));
  const out = { requests: now.requests - base.requests, errors: now.errors - base.errors, buckets };
  if (out.requests < 0 || out.errors < 0 || buckets.some((b) => b.count < 0)) return undefined;
  return out;
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly within its bucket as PromQL's
 * histogram_quantile does; the highest finite bound when it falls in +Inf; undefined without counts.
 */
export function quantile(q: number, buckets: RolloutCounts['buckets']): number | undefined {
  const sorted = [...buckets].sort((a, b) => leValue(a.le) - leValue(b.le));
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of sorted) {
    const bound = leValue(b.le);
    if (b.count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return prevBound;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? bound : prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = bound === Number.POSITIVE_INFINITY ? prevBound : bound;
    prevCount = b.count;
  }
  return prevBound;
}
