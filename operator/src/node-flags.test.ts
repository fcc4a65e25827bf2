// The operator's node flags and malloc setting are written twice: in the image (operator/Dockerfile,
// exec-form ENTRYPOINT, no shell) and in hack/operator-node.sh, which `make operator`, the demo, the
// e2e suite and the benchmark run. What is measured must be what ships, so they must not drift.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

function image(): { flags: string[]; arenas: string | undefined } {
  const dockerfile = read('operator/Dockerfile');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!entrypoint) throw new Error('operator/Dockerfile has no exec-form ENTRYPOINT');
  const argv = JSON.parse(entrypoint[1]!) as string[];
  expect(argv[0]).toBe('node');
  expect(argv.at(-1)).toBe('dist/operator/src/main.js');
  return { flags: argv.slice(1, -1), arenas: /MALLOC_ARENA_MAX=(\S+)/.exec(dockerfile)?.[1] };
}

function script(): { flags: string[]; arenas: string | undefined } {
  const line = read('hack/operator-node.sh')
    .split('\n')
    .find((l) => /\bexec node\b/.test(l));
  if (!line) throw new Error('hack/operator-node.sh has no `exec node` line');
  const words = line.trim().split(/\s+/);
  const flags = words.slice(words.indexOf('node') + 1).filter((w) => w.startsWith('--'));
  return { flags, arenas: /MALLOC_ARENA_MAX=(\S+)/.exec(line)?.[1] };
}

describe('node flags', () => {
  it('hack/operator-node.sh runs the operator with the image’s flags and malloc setting', () => {
    const shipped = image();
    expect(shipped.flags.length).toBeGreaterThan(0);
    expect(script()).toEqual(shipped);
  });
});
