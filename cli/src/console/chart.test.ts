import { describe, expect, it } from 'vitest';
import type { MetricsPoint } from '../../../operator/src/api/metadata.js';
import { BOX, domainOf, lineChart, seriesPoints, toPixel } from './chart.js';

const point = (step: number, loss?: number, evalLoss?: number): MetricsPoint => ({ step, epoch: 1, time: '2026-12-02T10:00:00Z', ...(loss !== undefined ? { loss } : {}), ...(evalLoss !== undefined ? { evalLoss } : {}) });

describe('chart', () => {
  it('maps the domain corners to the plot box corners (y grows downward)', () => {
    const d = { xMin: 0, xMax: 10, yMin: 1, yMax: 3 };
    expect(toPixel([0, 3], d)).toEqual([BOX.left, BOX.top]);
    expect(toPixel([10, 1], d)).toEqual([BOX.width - BOX.right, BOX.height - BOX.bottom]);
    expect(toPixel([5, 2], d)).toEqual([(BOX.left + BOX.width - BOX.right) / 2, (BOX.top + BOX.height - BOX.bottom) / 2]);
  });

  it('widens a flat domain so a constant curve is drawn mid-box, and has none without points', () => {
    expect(domainOf([[3, 2], [3, 2]])).toEqual({ xMin: 2, xMax: 4, yMin: 1.8, yMax: 2.2 });
    expect(domainOf([[1, 0]])).toEqual({ xMin: 0, xMax: 2, yMin: -1, yMax: 1 });
    expect(domainOf([])).toBeUndefined();
  });

  it('draws one polyline per series with data, a vertex per point that has the value', () => {
    const points = [point(1, 2.5), point(2, 2.0, 2.2), point(3, 1.5), point(4, 1.0, 1.4)];
    expect(seriesPoints(points, 'evalLoss')).toEqual([[2, 2.2], [4, 1.4]]);
    const svg = lineChart('Loss', points, [{ key: 'loss', label: 'loss', color: '#000' }, { key: 'evalLoss', label: 'eval', color: '#f00' }, { key: 'learningRate', label: 'lr', color: '#0f0' }]).text;
    const lines = [...svg.matchAll(/data-series="(\w+)"[^>]*points="([^"]*)"/g)].map((m) => [m[1], m[2]!.split(' ').length]);
    expect(lines).toEqual([['loss', 4], ['evalLoss', 2]]);
    expect(svg).toContain('data-x-min="1" data-x-max="4" data-y-min="1" data-y-max="2.5"');
    // The first loss point is at the left edge and the highest value: the top-left corner.
    expect(svg).toContain(`points="${BOX.left},${BOX.top} `);
  });

  it('says so instead of drawing empty axes', () => {
    expect(lineChart('Learning rate', [point(1, 2)], [{ key: 'learningRate', label: 'lr', color: '#0f0' }]).text).toContain('No points yet.');
  });
});
