// kubectl-lathe against the real cluster: installed with `npm install -g ./cli` (as the README says)
// and found by kubectl as a plugin; `logs -f` waits for a real trainer pod on the real node and
// follows it to its end; `curve` reads the metrics history the real trainer wrote; `generate`
// streams a completion from a real serving pod; `runs --history` lists the run once its object is
// deleted; unknown names, a malformed history in S3 and an unreachable API server each give one
// clear line. `console` is driven in a real headless browser (Debian's Chromium, playwright-core):
// the token, the runs table updating live, a run's curves checked point by point against the
// history in S3, its conditions, Events and lineage, the playground streaming a chat answer from
// the real serving pod, and each bad input named while the console keeps serving. Screenshots are
// kept in .cluster/test-artifacts/console/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../support/browser.js';
import { clients, ensureCrds, repoRoot, waitFor } from '../support/cluster.js';
import { expectedPixels, readChart, startConsoleProcess, unreachableKubeconfig, type ConsoleProcess } from '../support/console.js';
import { startLoopSuite, stopLoopSuite, tinyRun, tinyService, type LoopSuite, type Seed } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const s3 = new S3Client({ forcePathStyle: true });
const group = { group: 'lathe.dev', version: 'v1alpha1' } as const;
let ns = '';
let seed: Seed;
let pluginPath = '';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kubectl lathe ARGS`: kubectl finds the installed plugin on PATH. */
function lathe(args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(process.env.KUBECTL ?? 'kubectl', ['lathe', ...args], { encoding: 'utf8', env: { ...process.env, PATH: pluginPath, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, running in the background until it exits by itself. */
function latheUntilExit(args: string[], timeoutMs: number): Promise<Result> {
  const proc = spawn(process.env.KUBECTL ?? 'kubectl', ['lathe', ...args], { env: { ...process.env, PATH: pluginPath }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`kubectl lathe ${args.join(' ')} still running after ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function phase(name: string): Promise<string | undefined> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name })) as { status?: { phase?: string } };
  return obj.status?.phase;
}

let suite: LoopSuite | undefined;
let browser: Browser | undefined;
/**
 * The user's browser session: one context, so the cookie the token URL set reaches every later
 * page, as in a real browser (each `browser.newPage()` is a fresh profile without it).
 */
let session: BrowserContext;
let consoleProc: ConsoleProcess | undefined;
/** The console's front page, opened once and left open: the live updates must reach it. */
let front: Page;

async function historyOf(name: string): Promise<{ key: string; body: { points: { step: number; loss?: number; evalLoss?: number; learningRate?: number }[] } }> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name })) as { status: { runId: string } };
  const key = `models/${name}/${obj.status.runId}/metrics-history.json`;
  return { key, body: JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: 'lathe-artifacts', Key: key }))).Body!.transformToString()) };
}

beforeAll(async () => {
  // The README's one command, into a prefix of its own instead of the machine's global one.
  const prefix = mkdtempSync(path.join(tmpdir(), 'lathe-plugin-'));
  const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', path.join(repoRoot, 'cli')], { encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm install -g ./cli failed: ${npm.stderr}`);
  pluginPath = `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  suite = await startLoopSuite(core, 'plugin', ensureCrds);
  ({ ns, seed } = suite);
});

afterAll(async () => {
  await browser?.close();
  await consoleProc?.stop();
  await stopLoopSuite(core, suite);
});

describe('kubectl lathe against the real node', () => {
  const run = 'plugin-stories';
  const service = 'plugin-writer';

  it('is found by kubectl as a plugin, and says what to do about a bad name or an unreachable API server', () => {
    const help = lathe(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/kubectl lathe runs/);
    const unknown = lathe(['logs', 'no-such-run', '-n', ns]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`error: no TrainingRun no-such-run in namespace ${ns}`);
    expect(lathe(['generate', 'no-such-service', 'hi', '-n', ns]).stderr).toContain(`error: no InferenceService no-such-service in namespace ${ns}`);
    // Nothing listens on port 1: the same refusal as an API server that is down.
    const down = lathe(['runs'], { KUBECONFIG: unreachableKubeconfig() });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  it('logs -f waits for the trainer pod and follows it until the trainer exits', async () => {
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: tinyRun(run, seed).manifest() });
    const waited = latheUntilExit(['runs', run, '-n', ns, '--wait'], 360_000);
    const followed = await latheUntilExit(['logs', run, '-n', ns, '-f'], 300_000);
    expect(followed.code, followed.stderr).toBe(0);
    // runs RUN --wait, started with it, printed a line per change and the final row.
    const w = await waited;
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/^\[lathe\] Running\b/m);
    expect(w.stderr).toMatch(/^\[lathe\] Succeeded, epoch 3\/3/m);
    expect(new Set(w.stderr.split('\n')).size).toBe(w.stderr.split('\n').length);
    expect(w.stdout).toMatch(new RegExp(`^${run}\\s+Succeeded\\s`, 'm'));
    expect(followed.stdout).toMatch(/epoch 3\/3 starts/);
    expect(followed.stdout).toMatch(/metadata\.json written/);
    expect(followed.stderr).toMatch(/\[lathe\] logs of pod plugin-stories-1-/);
    const listed = await waitFor('the run to be Succeeded in kubectl lathe runs', async () => {
      const r = lathe(['runs', '-n', ns]);
      return (await phase(run)) === 'Succeeded' && /Succeeded/.test(r.stdout) ? r : undefined;
    }, 60_000, 1000);
    expect(listed.stdout).toMatch(new RegExp(`^${run}\\s+Succeeded\\s+3/3(?: step \\d+/\\d+)?\\s+[\\d.]+\\s+\\S+\\s+0\\s+s3://lathe-artifacts/models/${run}/\\S+/checkpoint/$`, 'm'));
  });

  it('curve prints the metrics history the trainer wrote; a malformed one is named, with what to do', async () => {
    const r = lathe(['curve', run, '-n', ns, '--rows', '1000']);
    expect(r.code, r.stderr).toBe(0);
    const { key, body: stored } = await historyOf(run);
    const steps = r.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
    expect(steps).toEqual(stored.points.map((p) => p.step));
    expect(r.stdout.split('\n')[0]).toMatch(/^STEP\s+EPOCH\s+LOSS\s+LEARNING-RATE\s+EVAL-LOSS/);

    await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify({ ...stored, points: [{ step: 'one' }] }) }));
    const bad = lathe(['curve', run, '-n', ns]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`error: s3://lathe-artifacts/${key} is malformed: metrics-history.json: /points/0`);
    await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify(stored) }));
  });

  it('generate streams a completion from a real serving pod, and refuses a service that is not Ready yet', async () => {
    await custom.createNamespacedCustomObject({
      ...group,
      namespace: ns,
      plural: 'inferenceservices',
      body: tinyService(service, { trainingRun: run }),
    });
    const early = lathe(['generate', service, 'the red cat', '-n', ns]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(new RegExp(`error: InferenceService ${service} is not Ready`));
    // --wait: the service's progress while its pod starts and loads the model, then the answer.
    const r = await latheUntilExit(['generate', service, 'the red cat', '-n', ns, '--max-tokens', '8', '--temperature', '0', '--wait'], 300_000);
    process.stdout.write(`[plugin] generate --wait: "the red cat" -> ${JSON.stringify(r.stdout)}\n[plugin] its progress:\n${r.stderr}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\[lathe\] Ready, 1\/1 ready: /m);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toContain(`[lathe] port-forward to service/${service}`);
  });

  it('console refuses a page without its token; its runs and services tables show the run and the service, and update live', async () => {
    browser = await launchBrowser();
    consoleProc = await startConsoleProcess(['-n', ns], { ...process.env, PATH: pluginPath });
    const stranger = await browser.newPage();
    const refused = await stranger.goto(`${consoleProc.origin}/`);
    expect(refused?.status()).toBe(401);
    expect(await stranger.textContent('body')).toContain('this console needs the token');
    await screenshot(stranger, 'console', 'no-token');
    await stranger.close();

    session = await browser.newContext();
    front = await session.newPage();
    await front.goto(consoleProc.url);
    await front.waitForSelector('#connection.conn-ok', { timeout: 30_000 });
    expect(await front.textContent(`#runs tr[data-run="${ns}/${run}"]`)).toMatch(/Succeeded/);
    expect(await front.textContent(`#services tr[data-service="${ns}/${service}"]`)).toMatch(/Ready/);
    // A run created now appears without a reload (a suspended one: no pod to wait for).
    const later = 'plugin-later';
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: tinyRun(later, seed).suspend().manifest() });
    await front.waitForSelector(`#runs tr[data-run="${ns}/${later}"]`, { timeout: 30_000 });
    await screenshot(front, 'console', 'runs');
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name: later });
    await front.waitForSelector(`#runs tr[data-run="${ns}/${later}"][data-source="cluster"]`, { state: 'detached', timeout: 30_000 });
  });

  it('console run page draws the loss and learning-rate curves from the metrics history, with conditions, Events, artifact and lineage', async () => {
    const page = await session.newPage();
    await page.goto(`${consoleProc!.origin}/runs/${ns}/${run}`);
    const { body: history } = await historyOf(run);
    const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name: run })) as { metadata: { uid: string }; status: { artifact: { uri: string }; conditions: { type: string }[] } };

    // Every point of the history is a vertex, where linear scales over the history's range put it.
    const loss = history.points.filter((p) => typeof p.loss === 'number').map((p) => [p.step, p.loss!] as const);
    expect(loss.length).toBeGreaterThan(1);
    const evalLoss = history.points.filter((p) => typeof p.evalLoss === 'number').map((p) => [p.step, p.evalLoss!] as const);
    const drawn = await readChart(page, 'Loss');
    const values = [...loss, ...evalLoss].map(([, v]) => v);
    expect(drawn.domain).toEqual({ xMin: Math.min(...[...loss, ...evalLoss].map(([s]) => s)), xMax: Math.max(...[...loss, ...evalLoss].map(([s]) => s)), yMin: Math.min(...values), yMax: Math.max(...values) });
    const close = (got: [number, number][], want: [number, number][]) => {
      expect(got.length).toBe(want.length);
      got.forEach(([x, y], i) => {
        expect(Math.abs(x - want[i]![0]), `x of point ${i}`).toBeLessThan(0.02);
        expect(Math.abs(y - want[i]![1]), `y of point ${i}`).toBeLessThan(0.02);
      });
    };
    close(drawn.series.loss!, expectedPixels(drawn, loss));
    if (evalLoss.length) close(drawn.series.evalLoss!, expectedPixels(drawn, evalLoss));
    const lr = history.points.filter((p) => typeof p.learningRate === 'number').map((p) => [p.step, p.learningRate!] as const);
    if (lr.length > 1 && new Set(lr.map(([, v]) => v)).size > 1) {
      const lrChart = await readChart(page, 'Learning rate');
      close(lrChart.series.learningRate!, expectedPixels(lrChart, lr));
    }
    process.stdout.write(`[plugin] console: ${loss.length} loss points, ${evalLoss.length} eval-loss points and ${lr.length} learning-rate points checked against s3 metrics-history.json\n`);

    expect((await page.textContent('#artifact'))?.trim()).toBe(obj.status.artifact.uri);
    for (const c of obj.status.conditions) expect(await page.$(`tr[data-condition="${c.type}"]`), c.type).not.toBeNull();
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=TrainingRun,involvedObject.name=${run}` });
    const ours = events.items.filter((e) => e.involvedObject.uid === obj.metadata.uid);
    const shown = ours.length ? await page.textContent('table.events') : await page.textContent('#run');
    if (!ours.length) expect(shown).toContain('No Events');
    for (const e of ours) expect(shown).toContain(e.reason!);
    expect(await page.textContent('#lineage')).toContain(`${ns}/${service}`);
    await screenshot(page, 'console', 'run');
    await page.close();
  });

  it('console playground streams a chat answer from the real serving pod', async () => {
    const page = await session.newPage();
    await page.goto(`${consoleProc!.origin}/play/${ns}/${service}`);
    expect(await page.getAttribute('#play-status', 'data-ready')).toBe('true');
    await page.fill('#chat-form textarea', 'the red cat');
    await page.fill('#chat-form input[name=max_tokens]', '8');
    await page.fill('#chat-form input[name=temperature]', '0');
    await page.click('#chat-form button');
    const answer = await page.waitForSelector('.msg.assistant.done', { timeout: 120_000 }).catch(async (err: unknown) => {
      throw new Error(`no answer: ${await page.textContent('#chat')}`, { cause: err });
    });
    const text = (await answer.textContent()) ?? '';
    const chunks = Number(await answer.getAttribute('data-chunks'));
    process.stdout.write(`[plugin] console chat: "the red cat" -> ${JSON.stringify(text)} in ${chunks} streamed chunk(s)\n`);
    expect(text.length).toBeGreaterThan(0);
    expect(chunks).toBeGreaterThan(1);
    expect(await page.textContent('#play-progress')).toMatch(/^done: \d+ chunk\(s\) in [\d.]+ s$/);
    await screenshot(page, 'console', 'playground');
    await page.close();
  });

  it('generate --image writes the PNG a real text-to-image pod made, and the playground shows one inline', async () => {
    // The chat is done: its pod goes, so the painter's fits on the 2-core node beside the rest.
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'inferenceservices', name: service });
    const painter = 'plugin-painter';
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'inferenceservices', body: tinyService(painter, { uri: seed.imageModel }, 'text-to-image') });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-image-')), 'cat.png');
    const r = await latheUntilExit(['generate', painter, 'a red cat', '-n', ns, '--image', file, '--wait'], 400_000);
    process.stdout.write(`[plugin] generate --image --wait:\n${r.stderr}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`[lathe] wrote ${file}`);
    const png = readFileSync(file);
    expect(png.subarray(0, 8).toString('hex'), 'the PNG signature').toBe('89504e470d0a1a0a');
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)]; // IHDR
    expect(width * height).toBeGreaterThan(0);

    const page = await session.newPage();
    await page.goto(`${consoleProc!.origin}/play/${ns}/${painter}`);
    expect(await page.getAttribute('#play-status', 'data-ready')).toBe('true');
    await page.fill('#image-form input[name=prompt]', 'a blue dog');
    await page.click('#image-form button');
    // Decoded by the browser, not only inserted (an undecoded img has no box, so is not visible):
    // a PNG of the size the server makes by default. (Functions, not strings: the console's CSP
    // refuses eval, which Playwright uses for string predicates.)
    const img = page.locator('#image-out img');
    await img.waitFor({ state: 'visible', timeout: 180_000 }).catch(async (err: unknown) => {
      throw new Error(`no image: ${await page.textContent('#playground')}`, { cause: err });
    });
    const shown = await img.evaluate((el) => {
      const i = el as unknown as { src: string; naturalWidth: number; naturalHeight: number; alt: string };
      return { src: i.src.slice(0, 22), width: i.naturalWidth, height: i.naturalHeight, alt: i.alt };
    });
    process.stdout.write(`[plugin] console image: ${shown.width}x${shown.height} for "a blue dog"; the CLI's was ${width}x${height}\n`);
    expect(shown).toEqual({ src: 'data:image/png;base64,', width, height, alt: 'a blue dog' });
    expect(await page.textContent('#play-progress')).toMatch(/^done in [\d.]+ s$/);
    await screenshot(page, 'console', 'playground-image');
    await page.close();
  });

  it('console names a malformed metrics history, an unknown run or service and an unreachable API server, and keeps serving', async () => {
    const { key, body } = await historyOf(run);
    await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify({ ...body, points: [{ step: 'one' }] }) }));
    const page = await session.newPage();
    try {
      await page.goto(`${consoleProc!.origin}/runs/${ns}/${run}`);
      expect(await page.textContent('#curves .problem')).toContain(`s3://lathe-artifacts/${key} is malformed`);
      expect(await page.$('tr[data-condition]')).not.toBeNull();
      await screenshot(page, 'console', 'malformed-history');
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: 'lathe-artifacts', Key: key, Body: JSON.stringify(body) }));
    }
    await page.goto(`${consoleProc!.origin}/runs/${ns}/no-such-run`);
    expect(await page.textContent('#run')).toContain(`No TrainingRun no-such-run in namespace ${ns}, and no record of one in S3`);
    await page.goto(`${consoleProc!.origin}/play/${ns}/no-such-service`);
    expect(await page.textContent('#play-status')).toContain(`No InferenceService no-such-service in namespace ${ns}`);
    await page.close();

    const down = await startConsoleProcess([], { ...process.env, PATH: pluginPath, KUBECONFIG: unreachableKubeconfig() });
    try {
      const p = await session.newPage();
      await p.goto(down.url);
      await p.waitForSelector('#connection.conn-problem', { timeout: 30_000 });
      expect(await p.textContent('#connection')).toMatch(/cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
      expect(await p.textContent('#runs .problem')).toMatch(/cannot reach the API server/);
      await screenshot(p, 'console', 'api-unreachable');
      // Still serving: a second request is answered.
      expect((await p.goto(`${down.origin}/runs/default/x`))?.status()).toBe(200);
    } finally {
      await down.stop();
    }
  });

  it('runs --history lists the run once its object is deleted, from run.json and metadata.json in S3', async () => {
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name: run });
    await waitFor('the TrainingRun to be gone', async () => {
      try {
        await phase(run);
        return false;
      } catch {
        return true;
      }
    }, 60_000, 500);
    expect(lathe(['runs', '-n', ns]).stdout).not.toContain(run);
    const r = lathe(['runs', '-n', ns, '--history']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${run}\\s+Succeeded\\s+3/3(?: step \\d+/\\d+)?\\s+[\\d.]+\\s+\\S+\\s+0\\s+s3://lathe-artifacts/models/${run}/\\S+/checkpoint/\\s+deleted$`, 'm'));
    expect(r.stderr).toMatch(/\[lathe\] reading run records from s3:\/\/lathe-artifacts\/models\//);
    // A deleted run's curve is still there, found through its record.
    const c = lathe(['curve', run, '-n', ns]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^STEP/);
  });

  it('console shows the deleted run from its S3 record, without a reload', async () => {
    await front.waitForSelector(`#runs tr[data-run="${ns}/${run}"][data-source="s3"]`, { timeout: 60_000 });
    expect(await front.textContent(`#runs tr[data-run="${ns}/${run}"][data-source="s3"]`)).toMatch(/Succeeded[\s\S]*deleted/);
    await front.click(`#runs tr[data-run="${ns}/${run}"][data-source="s3"] a`);
    await front.waitForSelector('#run .deleted');
    expect((await readChart(front, 'Loss')).series.loss!.length).toBeGreaterThan(1);
    await screenshot(front, 'console', 'deleted-run');
  });
});
