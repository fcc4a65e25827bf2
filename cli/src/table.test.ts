import { describe, expect, it } from 'vitest';
import { formatTable, shortDuration } from './table.js';

describe('formatTable', () => {
  it('pads each column to its widest cell, three spaces apart, no trailing spaces', () => {
    expect(formatTable(['NAME', 'PHASE', 'LOSS'], [['a-long-name', 'Running', '0.5'], ['b', 'Succeeded', '-']])).toBe(
      'NAME          PHASE       LOSS\n' + 'a-long-name   Running     0.5\n' + 'b             Succeeded   -\n',
    );
  });

  it('prints the headers alone when there are no rows', () => {
    expect(formatTable(['NAME', 'PHASE'], [])).toBe('NAME   PHASE\n');
  });
});

describe('shortDuration', () => {
  it.each([
    [0, '0s'],
    [42_000, '42s'],
    [185_000, '3m5s'],
    [3_600_000, '1h'],
    [3_720_000, '1h2m'],
    [3 * 86_400_000, '3d'],
    [-1, '-'],
    [Number.NaN, '-'],
  ])('%d ms is %s', (ms, text) => expect(shortDuration(ms)).toBe(text));
});
