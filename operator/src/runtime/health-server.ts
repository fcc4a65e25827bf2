// The operator's one HTTP port: /metrics for Prometheus, /healthz for the kubelet's liveness probe
// and /readyz for its readiness probe. Bodies follow the Kubernetes component style
// ("[+]name ok" / "[-]name failed") so `curl` output looks like the API server's own.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface HealthCheck {
  name: string;
  check(): boolean | Promise<boolean>;
  /** Reported in the body but never fails the endpoint (e.g. 'aws-access'). */
  informational?: boolean;
}

export interface HealthServerOptions {
  registry: Registry;
  logger: Logger;
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  /** A check that takes longer than this fails; default 5 s. */
  checkTimeoutMs?: number;
  /**
   * /healthz fails when the event loop has not run a timer for this long (default 30 s): a loop
   * blocked that long is stuck, and restarting the pod is the right fix.
   */
  eventLoopStallMs?: number;
}

export class HealthServer {
  private readonly registry: Registry;
  private readonly log: Logger;
  private readonly port: number;
  private readonly host: string | undefined;
  private readonly checkTimeoutMs: number;
  private readonly eventLoopStallMs: number;
  private readonly liveness: HealthCheck[] = [];
  private readonly readiness: HealthCheck[] = [];
  private server: http.Server | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastBeat = Date.now();

  constructor(options: HealthServerOptions) {
    this.registry = options.registry;
    this.log = options.logger.child({ component: 'health-server' });
    this.port = options.port;
    this.host = options.host;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
    this.eventLoopStallMs = options.eventLoopStallMs ?? 30_000;
    this.liveness.push({ name: 'event-loop', check: () => Date.now() - this.lastBeat < this.eventLoopStallMs });
  }

  /** A /healthz check, e.g. {name: 'informer-trainingruns', check: () => informer.isAlive()}. */
  addLivenessCheck(check: HealthCheck): this {
    this.liveness.push(check);
    return this;
  }

  /** A /readyz check, e.g. {name: 'informers-synced', check: () => informers.every(i => i.hasSynced())}. */
  addReadinessCheck(check: HealthCheck): this {
    this.readiness.push(check);
    return this;
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.server) throw new Error('health server already started');
    this.lastBeat = Date.now();
    this.heartbeat = setInterval(() => {
      this.lastBeat = Date.now();
    }, Math.max(10, Math.min(1000, this.eventLoopStallMs / 4)));
    this.heartbeat.unref();
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error('health server request failed', { err, url: req.url });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    this.log.info('health server listening', { port });
    return port;
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics': {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
      case '/livez':
        await this.respondChecks(req, res, 'healthz', this.liveness);
        return;
      case '/readyz':
        await this.respondChecks(req, res, 'readyz', this.readiness);
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  }

  private async respondChecks(req: http.IncomingMessage, res: http.ServerResponse, endpoint: string, checks: HealthCheck[]): Promise<void> {
    const results = await Promise.all(checks.map(async (c) => ({ check: c, ok: await this.run(c) })));
    const failed = results.some((r) => !r.ok && !r.check.informational);
    const lines = results.map(({ check, ok }) => {
      const mark = ok ? '+' : '-';
      const state = ok ? 'ok' : check.informational ? 'failed (informational)' : 'failed';
      return `[${mark}]${check.name} ${state}`;
    });
    lines.push(failed ? `${endpoint} check failed` : `${endpoint} check passed`);
    res.writeHead(failed ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : lines.join('\n') + '\n');
  }

  private async run(c: HealthCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.checkTimeoutMs);
      });
      return (await Promise.race([Promise.resolve().then(() => c.check()), timeout])) === true;
    } catch (err) {
      this.log.warn('health check threw', { check: c.name, err });
      return false;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
