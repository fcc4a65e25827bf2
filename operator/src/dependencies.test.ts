// The operator image installs only package.json's `dependencies` (npm ci --omit=dev). Everything
// the entry point loads at run time must be among them, and the two packages kept out on purpose
// (client-node: memory; zod: build-time schemas) must stay out of the run-time import graph.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;
const pkg = JSON.parse(readFileSync(path.join(SRC, '../../package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** Packages reached from `entry` through value imports (`import type` is erased by tsc). */
function runtimePackages(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        visit(target.endsWith('.json') ? target : target.replace(/\.js$/, '.ts'));
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  };
  visit(entry);
  return packages;
}

describe('run-time dependencies', () => {
  it('are all production dependencies, without client-node or zod', () => {
    const used = runtimePackages(path.join(SRC, 'main.ts'));
    expect(used.size).toBeGreaterThan(3);
    for (const p of used) expect(Object.keys(pkg.dependencies), `${p} is loaded at run time`).toContain(p);
    expect(used.has('@kubernetes/client-node')).toBe(false);
    expect(used.has('zod')).toBe(false);
  });
});
