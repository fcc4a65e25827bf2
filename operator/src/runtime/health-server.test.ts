import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from './health-server.js';
import { silentLogger } from './logger.js';
import { createRegistry, getOrCreateCounter } from './metrics.js';

describe('HealthServer', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function start(setup: (s: HealthServer) => void = () => undefined): Promise<string> {
    const registry = createRegistry();
    getOrCreateCounter(registry, { name: 'lathe_test_total', help: 'test' }).inc(3);
    server = new HealthServer({ registry, logger: silentLogger(), port: 0, host: '127.0.0.1', checkTimeoutMs: 200 });
    setup(server);
    const port = await server.start();
    return `http://127.0.0.1:${port}`;
  }

  it('serves the registry on /metrics, with process metrics', async () => {
    const base = await start();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('lathe_test_total 3');
    expect(body).toContain('process_resident_memory_bytes');
  });

  it('/healthz passes while liveness checks pass and fails when one fails', async () => {
    let informerAlive = true;
    const base = await start((s) => s.addLivenessCheck({ name: 'informer-trainingruns', check: () => informerAlive }));
    let res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('[+]event-loop ok\n[+]informer-trainingruns ok\nhealthz check passed');
    informerAlive = false;
    res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('[-]informer-trainingruns failed');
  });

  it('/readyz needs every check; informational ones are listed but never fail it', async () => {
    let synced = false;
    const base = await start((s) =>
      s
        .addReadinessCheck({ name: 'informers-synced', check: () => synced })
        .addReadinessCheck({ name: 'aws-access', informational: true, check: () => Promise.resolve(false) })
        .addReadinessCheck({ name: 'leader', check: async () => Promise.resolve(true) }),
    );
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    let body = await res.text();
    expect(body).toContain('[-]informers-synced failed');
    expect(body).toContain('[-]aws-access failed (informational)');
    expect(body).toContain('[+]leader ok');
    synced = true;
    res = await fetch(`${base}/readyz`);
    body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('[+]informers-synced ok');
    expect(body).toContain('readyz check passed');
  });

  it('a check that throws or hangs fails instead of hanging the probe', async () => {
    const base = await start((s) =>
      s
        .addReadinessCheck({
          name: 'throws',
          check: () => {
            throw new Error('boom');
          },
        })
        .addReadinessCheck({ name: 'hangs', check: () => new Promise<boolean>(() => undefined) }),
    );
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toContain('[-]throws failed');
    expect(body).toContain('[-]hangs failed');
  });

  it('404s unknown paths and 405s other methods', async () => {
    const base = await start();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
