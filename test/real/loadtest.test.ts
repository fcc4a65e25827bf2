// `make loadtest` (hack/loadtest.ts) against a real serving pod on the real node: vegeta's ramp of
// plain and streamed completions through the Service, the report's figures, and the Grafana
// annotation. Grafana itself is not installed here: a local HTTP server stands in for its
// annotations API and records what it is sent (the one mock of this test, for a service the
// environment cannot run).
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadTestReport } from '../../hack/loadtest.js';
import { clients, ensureCrds, repoRoot, waitFor } from '../support/cluster.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { deleteNamespaceAndWait, imageRef, requireRealNode, restrictedNamespace, seedTinyModel, tinyService } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const SERVICE = 'loaded';
let ns = '';
let operator: OperatorProcess | undefined;

function loadtest(service: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', path.join(repoRoot, 'hack/loadtest.ts'), service, '-n', ns], { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  await requireRealNode(core);
  ensureCrds();
  ns = await restrictedNamespace(core, 'real-load');
  const seed = seedTinyModel(`real/${ns}`);
  operator = await startOperator({ env: { LATHE_INFERENCE_IMAGE: imageRef('inference'), LATHE_WATCH_NAMESPACES: ns } });
  await custom.createNamespacedCustomObject({
    group: 'lathe.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'inferenceservices',
    body: tinyService(SERVICE, { uri: seed.model }),
  });
  await waitFor(`InferenceService ${SERVICE} to be Ready`, async () => {
    const s = (await custom.getNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: ns, plural: 'inferenceservices', name: SERVICE })) as { status?: { conditions?: { type: string; status: string }[] } };
    return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, 240_000, 1000);
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespaceAndWait(core, ns);
});

describe('make loadtest', () => {
  it('ramps plain and streamed requests through the Service and reports throughput, latency, TTFT, errors and shed, marked in Grafana', async () => {
    const annotations: { path?: string; auth?: string; body: Record<string, unknown> }[] = [];
    const grafana = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        annotations.push({ path: req.url, auth: req.headers.authorization, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1,"message":"Annotation added"}');
      });
    });
    grafana.listen(0, '127.0.0.1');
    await once(grafana, 'listening');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-load-')), 'report.json');
    try {
      const r = await loadtest(SERVICE, {
        LATHE_LOADTEST_RATES: '1,2',
        LATHE_LOADTEST_STAGE_SECONDS: '4',
        LATHE_LOADTEST_MAX_TOKENS: '8',
        LATHE_LOADTEST_REPORT: file,
        GRAFANA_URL: `http://127.0.0.1:${(grafana.address() as { port: number }).port}`,
        GRAFANA_TOKEN: 'test-token',
      });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(readFileSync(file, 'utf8')) as LoadTestReport;
      expect(report.stages.map((s) => s.rate)).toEqual([1, 2]);
      for (const s of report.stages) {
        // Bounded: exactly rate × seconds requests of each kind.
        expect(s.plain.requests).toBe(s.rate * 4);
        expect(s.stream.requests).toBe(s.rate * 4);
        expect(s.plain.statusCodes['200']).toBeGreaterThan(0);
        expect(s.stream.statusCodes['200']).toBeGreaterThan(0);
        expect(s.plain.errorRate + s.stream.errorRate).toBe(0);
        expect(s.plain.latencySeconds.p50).toBeGreaterThan(0);
        expect(s.plain.latencySeconds.p99).toBeGreaterThanOrEqual(s.plain.latencySeconds.p50);
        expect(s.tokensPerSecond).toBeGreaterThan(0);
        // Time to first token from the server's histogram: a streamed answer's first token comes before its last.
        expect(s.timeToFirstTokenSeconds!.p50).toBeGreaterThan(0);
        expect(s.timeToFirstTokenSeconds!.p50).toBeLessThanOrEqual(s.stream.latencySeconds.max);
      }
      expect(r.stdout).toMatch(/rate\/s\s+kind\s+requests/);
      expect(r.stdout).toContain(`report: ${file}`);
      expect(annotations).toHaveLength(1);
      expect(annotations[0]).toMatchObject({ path: '/api/annotations', auth: 'Bearer test-token', body: { tags: ['lathe', 'loadtest', `service:${SERVICE}`] } });
      expect(annotations[0]!.body.timeEnd as number).toBeGreaterThan(annotations[0]!.body.time as number);
      expect(report.annotation).toMatchObject({ ok: true, status: 200 });
    } finally {
      grafana.close();
    }
  });

  it('says what to do when the service does not exist, instead of measuring connection errors', async () => {
    const r = await loadtest('no-such-service', { LATHE_LOADTEST_RATES: '1', LATHE_LOADTEST_STAGE_SECONDS: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`InferenceService ${ns}/no-such-service not found`);
  });
});
