import { describe, expect, it } from 'vitest';
import type { MetricsHistory } from '../../operator/src/api/metadata.js';
import { formatCurve } from './curve.js';

const history = (n: number): MetricsHistory => ({
  schemaVersion: 1,
  runId: 'r',
  maxPoints: 1000,
  thinned: 0,
  updatedAt: '2026-12-02T10:00:00Z',
  points: Array.from({ length: n }, (_, i) => ({ step: (i + 1) * 10, epoch: 1, time: '2026-12-02T10:00:00Z', loss: 2 / (i + 1), learningRate: 0.01, ...(i === n - 1 ? { evalLoss: 0.9, perplexity: 2.46 } : {}) })),
});

describe('formatCurve', () => {
  it('prints every point of a short history, with the evaluation metrics as columns', () => {
    const lines = formatCurve(history(3), 20).trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).toEqual(['STEP', 'EPOCH', 'LOSS', 'LEARNING-RATE', 'EVAL-LOSS', 'PERPLEXITY']);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['10', '20', '30']);
    expect(lines[3]).toMatch(/^30\s+1\s+0\.6667\s+0\.01\s+0\.9\s+2\.46$/);
  });

  it('spreads a long history over the rows asked for, first and last point included', () => {
    const steps = formatCurve(history(100), 5).trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
    expect(steps).toEqual([10, 260, 510, 750, 1000]);
  });
});
