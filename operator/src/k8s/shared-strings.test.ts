import { describe, expect, it } from 'vitest';
import { StringPool } from './shared-strings.js';

describe('StringPool', () => {
  // (Which copy a string is cannot be observed in JavaScript; the pool's contents can. The memory
  // saved is measured by `make bench`.)
  it('pools the repeating values of both objects once, and leaves the objects equal', () => {
    const pool = new StringPool();
    const a = JSON.parse('{"metadata":{"name":"r-1","uid":"u1","labels":{"x":"lathe"}},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"JobRunning"}]}}') as Record<string, unknown>;
    const b = JSON.parse('{"metadata":{"name":"r-2","uid":"u2","labels":{"x":"lathe"}},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"JobRunning"}]}}') as Record<string, unknown>;
    const before = structuredClone(a);
    pool.shareIn(a);
    pool.shareIn(b);
    expect(a).toEqual(before);
    // Running, lathe, Ready, True, JobRunning; not the names or uids.
    expect(pool.size).toBe(5);
  });

  it('stays bounded: a full pool starts over', () => {
    const pool = new StringPool(3);
    for (const s of ['a', 'b', 'c', 'd']) pool.share(s);
    expect(pool.size).toBe(1);
  });

  it('leaves long strings alone', () => {
    const pool = new StringPool();
    pool.share('m'.repeat(300));
    expect(pool.size).toBe(0);
  });
});
