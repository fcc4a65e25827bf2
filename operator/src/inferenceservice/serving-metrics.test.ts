import { describe, expect, it } from 'vitest';
import { countsSince, parseServingMetrics, quantile, sumCounts } from './serving-metrics.js';

// As prometheus_client writes the inference server's registry (metrics.py), trimmed.
const POD = `# HELP lathe_requests_total HTTP requests served, by route, method and status code.
# TYPE lathe_requests_total counter
lathe_requests_total{code="200",method="POST",route="/v1/completions"} 40.0
lathe_requests_total{code="500",method="POST",route="/v1/completions"} 6.0
lathe_requests_total{code="503",method="POST",route="/v1/chat/completions"} 2.0
lathe_requests_total{code="400",method="POST",route="/v1/chat/completions"} 3.0
lathe_requests_total{code="200",method="GET",route="/readyz"} 900.0
lathe_requests_total{code="500",method="GET",route="/metrics"} 1.0
# HELP lathe_requests_created HTTP requests served
lathe_requests_created{code="200",method="POST",route="/v1/completions"} 1.7e+09
# TYPE lathe_request_duration_seconds histogram
lathe_request_duration_seconds_bucket{le="0.1",route="/v1/completions"} 10.0
lathe_request_duration_seconds_bucket{le="0.5",route="/v1/completions"} 40.0
lathe_request_duration_seconds_bucket{le="1.0",route="/v1/completions"} 46.0
lathe_request_duration_seconds_bucket{le="+Inf",route="/v1/completions"} 46.0
lathe_request_duration_seconds_bucket{le="0.1",route="/v1/chat/completions"} 5.0
lathe_request_duration_seconds_bucket{le="0.5",route="/v1/chat/completions"} 5.0
lathe_request_duration_seconds_bucket{le="1.0",route="/v1/chat/completions"} 5.0
lathe_request_duration_seconds_bucket{le="+Inf",route="/v1/chat/completions"} 5.0
lathe_request_duration_seconds_bucket{le="0.1",route="/readyz"} 900.0
lathe_request_duration_seconds_bucket{le="+Inf",route="/readyz"} 900.0
lathe_request_duration_seconds_count{route="/v1/completions"} 46.0
`;

describe('parseServingMetrics', () => {
  it('counts the generation routes only: requests, 5xx answers (4xx are the client\'s), latency buckets', () => {
    expect(parseServingMetrics(POD)).toEqual({
      requests: 51,
      errors: 8,
      buckets: [
        { le: '0.1', count: 15 },
        { le: '0.5', count: 45 },
        { le: '1', count: 51 },
        { le: '+Inf', count: 51 },
      ],
    });
  });
  it('reads an empty or foreign page as no requests', () => {
    expect(parseServingMetrics('')).toEqual({ requests: 0, errors: 0, buckets: [] });
    expect(parseServingMetrics('go_goroutines 12\nnot a sample line\n')).toEqual({ requests: 0, errors: 0, buckets: [] });
  });
});

describe('sumCounts and countsSince', () => {
  const a = { requests: 10, errors: 1, buckets: [{ le: '0.5', count: 8 }, { le: '+Inf', count: 10 }] };
  const b = { requests: 4, errors: 0, buckets: [{ le: '0.5', count: 4 }, { le: '+Inf', count: 4 }] };
  it('adds pods bucket by bucket', () => {
    expect(sumCounts([a, b])).toEqual({ requests: 14, errors: 1, buckets: [{ le: '0.5', count: 12 }, { le: '+Inf', count: 14 }] });
  });
  it('subtracts the step\'s start; a new pod (no counts at the start) only adds', () => {
    const later = sumCounts([{ requests: 20, errors: 3, buckets: [{ le: '0.5', count: 15 }, { le: '+Inf', count: 20 }] }, b]);
    expect(countsSince(a, later)).toEqual({ requests: 14, errors: 2, buckets: [{ le: '0.5', count: 11 }, { le: '+Inf', count: 14 }] });
  });
  it('is undefined when a counter went down (a pod restarted)', () => {
    expect(countsSince(a, b)).toBeUndefined();
  });
});

describe('quantile', () => {
  it('interpolates within the bucket, as histogram_quantile', () => {
    const buckets = [{ le: '0.1', count: 50 }, { le: '0.5', count: 90 }, { le: '1', count: 100 }, { le: '+Inf', count: 100 }];
    expect(quantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(quantile(0.95, buckets)).toBeCloseTo(0.75);
    expect(quantile(0.25, buckets)).toBeCloseTo(0.05);
  });
  it('gives the highest finite bound when the quantile is in +Inf, and nothing without requests', () => {
    expect(quantile(0.95, [{ le: '1', count: 1 }, { le: '+Inf', count: 10 }])).toBe(1);
    expect(quantile(0.95, [{ le: '+Inf', count: 0 }])).toBeUndefined();
    expect(quantile(0.95, [])).toBeUndefined();
  });
});
