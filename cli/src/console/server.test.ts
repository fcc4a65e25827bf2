// The console's HTTP surface against an API server and an S3 that cannot be reached (nothing
// listens on port 1): who is let in, and that the page keeps serving and says what is wrong.
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unreachableKubeconfig } from '../../../test/support/console.js';
import { Session } from '../session.js';
import { cookieName, startConsole, type ConsoleServer } from './server.js';

const TOKEN = 'test-token-0123456789abcdef';
let server: ConsoleServer;
let cookie: { cookie: string };

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request, so the test sets Host, Origin and Cookie as a browser or an attacker would. */
function request(pathname: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: pathname, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${server.port}`, ...o.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

beforeAll(async () => {
  const kubeconfig = unreachableKubeconfig();
  process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:1';
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'x';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'y';
  server = await startConsole({ session: new Session('lathe-artifacts', { ...process.env, KUBECONFIG: kubeconfig }), namespace: 'ml', port: 0, token: TOKEN });
  cookie = { cookie: `${cookieName(server.port)}=${TOKEN}` };
});

afterAll(() => server?.close());

describe('kubectl lathe console', () => {
  it('listens on 127.0.0.1 only and prints a URL with its token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
  });

  it('refuses a request without the token, or with a wrong one, on every path', async () => {
    for (const p of ['/', '/runs/ml/x', '/fragments/runs', '/events', '/api/runs', '/assets/app.js', `/?token=${TOKEN.slice(0, -1)}x`]) {
      const r = await request(p);
      expect(r.status, p).toBe(401);
      expect(r.body).toContain('this console needs the token');
    }
    expect((await request('/', { headers: { cookie: `${cookieName(server.port)}=nope` } })).status).toBe(401);
    // Another console's cookie (another port of this host) does not let a page into this one.
    expect((await request('/', { headers: { cookie: `${cookieName(server.port + 1)}=${TOKEN}` } })).status).toBe(401);
  });

  it('refuses another Host (a DNS-rebinding page) even with the token', async () => {
    const r = await request(`/?token=${TOKEN}`, { headers: { host: `attacker.example:${server.port}` } });
    expect(r.status).toBe(403);
    expect(r.body).toContain(`answers only at http://127.0.0.1:${server.port}`);
  });

  it('lets the token in once and keeps it in a same-site, HTTP-only cookie; the page never leaks it as a Referer', async () => {
    const first = await request(`/?token=${TOKEN}`, { headers: { host: `localhost:${server.port}` } });
    expect(first.status).toBe(200);
    expect(first.headers['set-cookie']?.[0]).toBe(`${cookieName(server.port)}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    expect(first.headers['content-security-policy']).toContain("script-src 'self'");
    const next = await request('/assets/app.js', { headers: cookie });
    expect(next.status).toBe(200);
    expect(next.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('keeps serving while the API server is unreachable, and says so on the page', async () => {
    let page: Reply | undefined;
    for (let i = 0; i < 50 && !page?.body.includes('cannot reach'); i++) {
      page = await request('/fragments/runs', { headers: cookie });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(page!.status).toBe(200);
    expect(page!.body).toContain('cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED)');
    expect(page!.body).toContain('No TrainingRuns.');
    const run = await request('/runs/ml/smol', { headers: cookie });
    expect(run.status).toBe(200);
    expect(run.body).toContain('No TrainingRun smol in namespace ml, and no record of one in S3');
    const json = JSON.parse((await request('/api/runs', { headers: cookie })).body) as { rows: unknown[]; problem: { message: string } };
    expect(json.rows).toEqual([]);
    expect(json.problem.message).toMatch(/cannot reach the API server/);
  });

  it('answers an unknown path with what it serves, and refuses a cross-site or malformed playground request', async () => {
    const missing = await request('/nowhere', { headers: cookie });
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('the console serves /, /runs/NAMESPACE/NAME and /play/NAMESPACE/SERVICE');
    const chat = (body: string, headers: Record<string, string> = {}) => request('/api/play/ml/writer/chat', { method: 'POST', body, headers: { ...cookie, 'content-type': 'application/json', ...headers } });
    const cross = await chat('{"messages":[{"role":"user","content":"hi"}]}', { origin: 'https://attacker.example' });
    expect(cross.status).toBe(403);
    const bad = await chat('{"messages":[{"role":"robot","content":"hi"}]}');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: { message: 'messages[0].role: one of system, user, assistant' } });
    expect((await chat('not json')).status).toBe(400);
    expect((await request('/api/play/ml/writer/chat', { method: 'POST', body: '{}', headers: { ...cookie, 'content-type': 'text/plain' } })).status).toBe(415);
    // A well-formed message to a service the API server cannot be asked about: the reason, as a 502.
    const down = await chat('{"messages":[{"role":"user","content":"hi"}]}');
    expect(down.status).toBe(502);
    expect(JSON.parse(down.body).error.message).toMatch(/cannot reach the API server/);
  });
});
