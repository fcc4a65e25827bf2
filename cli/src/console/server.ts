// `kubectl lathe console`: a web page on 127.0.0.1 only, for the person who started it. Every
// request must carry the random token printed in the URL (as ?token= once; the page then holds it
// in a same-site, HTTP-only cookie), and a Host of this loopback address, so neither another local
// user's browser tab nor a DNS-rebinding page can read the cluster through it. The page is server-
// rendered (views.ts); its one script (assets/app.js) swaps fragments in when the server says
// something changed, and streams the playground.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Session } from '../session.js';
import { html, type Html } from './html.js';
import { HttpError } from './http-error.js';
import { parseChatRequest, Playground } from './playground.js';
import { ConsoleState, problemOf, type Change } from './state.js';
import { layout, playPanel, playStatus, runFragment, runsTable, servicesTable } from './views.js';

/**
 * The cookie that keeps the token, named for the port: browsers share cookies between the ports of
 * one host, so two consoles (two namespaces, or one left running) would otherwise overwrite each
 * other's token and the first would answer 401 on its next request.
 */
export const cookieName = (port: number): string => `lathe_console_${port}`;
const MAX_BODY = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' };
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  // The token is in the first URL: never send it on as a Referer.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export interface ConsoleOptions {
  session: Session;
  /** undefined: every namespace (-A). */
  namespace: string | undefined;
  port: number;
  /** For tests: a fixed token instead of a random one. */
  token?: string;
}

export interface ConsoleServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send the body as application/json');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
  res.end(body);
}

const sendHtml = (res: http.ServerResponse, body: Html, extra?: Record<string, string>) => send(res, 200, 'text/html; charset=utf-8', body.text, extra);
const sendJson = (res: http.ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  const token = o.token ?? randomBytes(24).toString('base64url');
  const sse = new Set<http.ServerResponse>();
  const broadcast = (c: Change) => {
    const line = `event: change\ndata: ${JSON.stringify(c)}\n\n`;
    for (const res of sse) res.write(line);
  };
  const state = new ConsoleState(o.session, o.namespace, broadcast);
  const playground = new Playground(o.session);
  let port = 0;
  const origins = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  const page = (title: string, body: Html, live: string) => layout(title, body, live);
  const runsFragment = () => runsTable(state.rows(new Date()), state.apiProblem() ?? state.recordsProblem);
  const servicesFragment = () => servicesTable(state.serviceList(), state.apiProblem());
  const runView = async (ns: string, name: string, uid: string | undefined) => runFragment(await state.runDetail(ns, name, uid), new Date());
  const playView = (ns: string, name: string) => playStatus(state.findService(ns, name), ns, name, state.services.synced ? undefined : state.apiProblem());

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const [top, ...rest] = parts;
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && !origins().map((h) => `http://${h}`).includes(origin)) throw new HttpError(403, `requests from ${origin} are refused`);
      if (top === 'api' && rest[0] === 'play' && rest.length === 4) {
        const [, ns, name, what] = rest as [string, string, string, string];
        const body = await readJson(req);
        if (what === 'image') {
          const prompt = (body as { prompt?: unknown }).prompt;
          sendJson(res, 200, { b64_json: await playground.image(ns, name, typeof prompt === 'string' ? prompt : '') });
          return;
        }
        if (what === 'chat') {
          const stream = await playground.chat(ns, name, parseChatRequest(body));
          res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream' });
          for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
          res.end();
          return;
        }
      }
      throw new HttpError(404, `no such action: POST ${url.pathname}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not served`);
    if (top === 'favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    if (top === 'assets' && rest.length === 1 && ASSETS[rest[0]!]) {
      send(res, 200, ASSETS[rest[0]!]!, readFileSync(path.join(ASSETS_DIR, rest[0]!)));
      return;
    }
    if (top === 'events' && rest.length === 0) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      const p = state.apiProblem();
      res.write(`event: change\ndata: ${JSON.stringify({ kind: 'connection', ...(p ? { problem: p } : {}) })}\n\n`);
      sse.add(res);
      req.on('close', () => sse.delete(res));
      return;
    }
    if (top === 'api' && rest[0] === 'runs' && rest.length === 1) {
      sendJson(res, 200, { rows: state.rows(new Date()), problem: state.apiProblem() ?? state.recordsProblem });
      return;
    }
    const fragment = top === 'fragments';
    const [kind, ns, name] = fragment ? rest : parts;
    if (kind === undefined && !fragment) {
      sendHtml(res, page('Runs and services', html`${runsFragment()}${servicesFragment()}`, 'runs services'));
      return;
    }
    if (fragment && kind === 'runs' && ns === undefined) return sendHtml(res, runsFragment());
    if (fragment && kind === 'services' && ns === undefined) return sendHtml(res, servicesFragment());
    if (kind === 'runs' && ns && name && (fragment ? rest : parts).length === 3) {
      const body = await runView(ns, name, url.searchParams.get('uid') ?? undefined);
      sendHtml(res, fragment ? body : page(`${ns}/${name}`, body, `run ${ns}/${name}`));
      return;
    }
    if (kind === 'play' && ns && name && (fragment ? rest : parts).length === 3) {
      if (fragment) return sendHtml(res, playView(ns, name));
      const task = state.findService(ns, name)?.spec.task ?? 'text-generation';
      sendHtml(res, page(`Playground ${ns}/${name}`, html`${playView(ns, name)}${playPanel(task, ns, name)}`, `service ${ns}/${name}`));
      return;
    }
    throw new HttpError(404, `nothing at ${url.pathname}`, 'the console serves /, /runs/NAMESPACE/NAME and /play/NAMESPACE/SERVICE');
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const fail = (status: number, message: string, hint?: string) => {
      if (res.headersSent) {
        // A stream already started (the playground): end it with an error event the page shows.
        res.end(`event: error\ndata: ${JSON.stringify({ error: { message, hint } })}\n\n`);
        return;
      }
      if (url.pathname.startsWith('/api/')) sendJson(res, status, { error: { message, ...(hint ? { hint } : {}) } });
      else send(res, status, 'text/plain; charset=utf-8', `${message}\n${hint ? `${hint}\n` : ''}`);
    };
    if (!origins().includes(req.headers.host ?? '')) return fail(403, `this console answers only at http://127.0.0.1:${port}`);
    const queryToken = url.searchParams.get('token') ?? undefined;
    if (!sameToken(queryToken ?? cookieToken(req, cookieName(port)), token)) {
      return fail(401, 'this console needs the token: open the URL that `kubectl lathe console` printed', 'the token is new each time the console starts');
    }
    if (queryToken) res.setHeader('set-cookie', `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    route(req, res, url).catch((err: unknown) => {
      if (err instanceof HttpError) return fail(err.status, err.message, err.hint);
      const p = problemOf(err);
      fail(502, p.message, p.hint);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  state.start();
  const heartbeat = setInterval(() => {
    for (const res of sse) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      clearInterval(heartbeat);
      state.stop();
      for (const res of sse) res.end();
      sse.clear();
      await playground.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
