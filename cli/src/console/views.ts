// The console's pages and the fragments the page swaps in when something changes: pure functions
// from objects to Html (tested in views.test.ts), so what a user sees is decided here and nowhere
// in the page's script.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { MetricsHistory } from '../../../operator/src/api/metadata.js';
import type { Condition } from '../../../operator/src/api/schema/common.js';
import type { InferenceService } from '../../../operator/src/api/schema/inferenceservice.js';
import type { TrainingRun } from '../../../operator/src/api/schema/trainingrun.js';
import { rowOfRun, rowOfStored, type RunRow, type StoredRun } from '../runs.js';
import { lineChart } from './chart.js';
import { html, type Html } from './html.js';

export interface Problem {
  message: string;
  hint?: string | undefined;
}

const enc = encodeURIComponent;

export function runHref(r: { namespace: string; name: string; source?: RunRow['source']; uid?: string }): string {
  return `/runs/${enc(r.namespace)}/${enc(r.name)}${r.source === 's3' && r.uid ? `?uid=${enc(r.uid)}` : ''}`;
}

export const playHref = (namespace: string, name: string) => `/play/${enc(namespace)}/${enc(name)}`;

export function problemBanner(p: Problem | undefined): Html {
  if (!p) return html``;
  return html`<div class="problem" role="alert"><strong>${p.message}</strong>${p.hint ? html`<br><span>${p.hint}</span>` : ''}</div>`;
}

export function layout(title: string, body: Html, live: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Lathe</title><link rel="stylesheet" href="/assets/style.css"></head>
<body data-live="${live}"><header><a href="/" class="brand">Lathe</a><span id="connection" class="connection">connecting…</span></header>
<main>${body}</main><script type="module" src="/assets/app.js"></script></body></html>`;
}

function phaseBadge(phase: string): Html {
  return html`<span class="phase phase-${phase.toLowerCase()}">${phase}</span>`;
}

export function runsTable(rows: readonly RunRow[], problem?: Problem): Html {
  const body = rows.length
    ? rows.map((r) => html`<tr data-run="${r.namespace}/${r.name}" data-source="${r.source}">
<td>${r.namespace}</td><td><a href="${runHref(r)}">${r.name}</a></td><td>${phaseBadge(r.phase)}</td><td>${r.progress}</td>
<td class="num">${r.loss}</td><td>${r.duration}</td><td class="num">${r.gpus}</td><td class="uri">${r.artifact}</td><td>${r.source === 'cluster' ? 'present' : 'deleted'}</td></tr>`)
    : html`<tr><td colspan="9" class="none">No TrainingRuns.</td></tr>`;
  return html`<section id="runs" data-fragment="/fragments/runs"><h2>Training runs</h2>${problemBanner(problem)}
<table><thead><tr><th>Namespace</th><th>Name</th><th>Phase</th><th>Progress</th><th>Loss</th><th>Duration</th><th>GPUs</th><th>Artifact</th><th>Object</th></tr></thead>
<tbody>${body}</tbody></table></section>`;
}

function readyOf(svc: InferenceService): Condition | undefined {
  return svc.status?.conditions?.find((c) => c.type === 'Ready');
}

function rolloutText(svc: InferenceService): string {
  const r = svc.status?.rollout;
  if (!r) return svc.spec.rollout?.strategy === 'Canary' ? 'Canary (no rollout yet)' : 'Replace';
  const share = r.canaryShare !== undefined ? `, canary ${r.canaryShare}%` : '';
  return `${r.phase} step ${r.step + 1}/${svc.spec.rollout?.steps?.length ?? '?'}${share}`;
}

function modelText(svc: InferenceService): string {
  return svc.spec.model.trainingRun ? `run ${svc.spec.model.trainingRun}` : (svc.spec.model.uri ?? '-');
}

export function servicesTable(services: readonly InferenceService[], problem?: Problem): Html {
  const body = services.length
    ? services.map((s) => {
      const ready = readyOf(s);
      const ns = s.metadata.namespace ?? '';
      const name = s.metadata.name ?? '';
      return html`<tr data-service="${ns}/${name}"><td>${ns}</td><td><a href="${playHref(ns, name)}">${name}</a></td><td>${s.spec.task ?? 'text-generation'}</td>
<td class="uri">${modelText(s)}</td><td>${ready?.status === 'True' ? html`<span class="ready">Ready</span>` : html`<span class="not-ready" title="${ready?.message ?? ''}">${ready?.reason ?? 'Pending'}</span>`}</td>
<td class="num">${s.status?.readyReplicas ?? 0}/${s.status?.replicas ?? 0}</td><td>${rolloutText(s)}</td></tr>`;
    })
    : html`<tr><td colspan="7" class="none">No InferenceServices.</td></tr>`;
  return html`<section id="services" data-fragment="/fragments/services"><h2>Inference services</h2>${problemBanner(problem)}
<table><thead><tr><th>Namespace</th><th>Name</th><th>Task</th><th>Model</th><th>Ready</th><th>Replicas</th><th>Rollout</th></tr></thead>
<tbody>${body}</tbody></table></section>`;
}

export interface RunDetail {
  namespace: string;
  name: string;
  /** The live object, when it exists. */
  run?: TrainingRun;
  /** Its S3 record: for a deleted run, all there is. */
  stored?: StoredRun;
  events: readonly CoreV1Event[];
  eventsProblem?: Problem;
  history?: MetricsHistory;
  historyProblem?: Problem;
  /** The InferenceServices that serve its artifact. */
  servedBy: readonly InferenceService[];
}

/** Services serving the run: by reference (spec.model.trainingRun, status models) or by artifact URI. */
export function servingServices(namespace: string, name: string, artifactUri: string | undefined, services: readonly InferenceService[]): InferenceService[] {
  return services.filter((s) => {
    if (s.metadata.namespace !== namespace && !(artifactUri && s.status?.modelUri === artifactUri)) return false;
    const st = s.status;
    return s.spec.model.trainingRun === name || st?.stableModel?.trainingRun === name || st?.canaryModel?.trainingRun === name ||
      (artifactUri !== undefined && [st?.modelUri, st?.servingModelUri, s.spec.model.uri].includes(artifactUri));
  });
}

function conditionsTable(conditions: readonly Condition[] | undefined): Html {
  if (!conditions?.length) return html`<p class="none">No conditions.</p>`;
  return html`<table class="conditions"><thead><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th><th>Since</th></tr></thead><tbody>
${conditions.map((c) => html`<tr data-condition="${c.type}"><td>${c.type}</td><td>${c.status}</td><td>${c.reason}</td><td>${c.message}</td><td>${c.lastTransitionTime}</td></tr>`)}</tbody></table>`;
}

function eventsTable(events: readonly CoreV1Event[]): Html {
  if (!events.length) return html`<p class="none">No Events (the API server keeps them for an hour).</p>`;
  return html`<table class="events"><thead><tr><th>Type</th><th>Reason</th><th>Message</th><th>Count</th><th>Last seen</th></tr></thead><tbody>
${events.map((e) => html`<tr class="event-${(e.type ?? 'Normal').toLowerCase()}"><td>${e.type}</td><td>${e.reason}</td><td>${e.message}</td><td class="num">${e.count ?? 1}</td><td>${String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '')}</td></tr>`)}</tbody></table>`;
}

const LOSS_SERIES = [{ key: 'loss', label: 'loss', color: '#1f6feb' }, { key: 'evalLoss', label: 'eval loss', color: '#d9480f' }];
const LR_SERIES = [{ key: 'learningRate', label: 'learning rate', color: '#2b8a3e' }];

export function runFragment(d: RunDetail, now: Date): Html {
  const row = d.run ? rowOfRun(d.run, now) : d.stored ? rowOfStored(d.stored, now) : undefined;
  if (!row) return html`<section id="run">${problemBanner({ message: `No TrainingRun ${d.name} in namespace ${d.namespace}, and no record of one in S3`, hint: 'kubectl lathe runs -A --history lists every run' })}</section>`;
  const status = d.run?.status;
  const artifact = status?.artifact?.uri ?? d.stored?.record.artifact?.uri ?? d.stored?.metadata?.artifact.uri;
  const record = status?.artifact?.recordUri ?? (d.stored ? `${d.stored.prefixUri}run.json` : undefined);
  const points = d.history?.points ?? [];
  const history = d.historyProblem
    ? problemBanner(d.historyProblem)
    : d.history
      ? html`${lineChart('Loss', points, LOSS_SERIES)}${lineChart('Learning rate', points, LR_SERIES)}
<p class="note">${points.length} points${d.history.thinned ? `, thinned ${d.history.thinned} time(s) to stay under ${d.history.maxPoints}` : ''}; updated ${d.history.updatedAt}.</p>`
      : html`<p class="none">No metrics history yet (the trainer writes it at its progress interval).</p>`;
  return html`<section id="run" data-fragment="/fragments${runHref(row)}" data-phase="${row.phase}">
<h2>${row.namespace}/${row.name} ${phaseBadge(row.phase)}${row.source === 's3' ? html` <span class="deleted">object deleted: from its S3 record</span>` : ''}</h2>
${status?.message ? html`<p class="message">${status.message}</p>` : ''}
<dl class="facts"><dt>Progress</dt><dd>${row.progress}</dd><dt>Loss</dt><dd>${row.loss}</dd><dt>Duration</dt><dd>${row.duration}</dd><dt>GPUs</dt><dd>${row.gpus}</dd>
<dt>Artifact</dt><dd class="uri" id="artifact">${artifact ?? '-'}</dd><dt>Record</dt><dd class="uri">${record ?? '-'}</dd></dl>
<h3>Curves</h3><div id="curves">${history}</div>
<h3>Served by</h3>${d.servedBy.length ? html`<ul id="lineage">${d.servedBy.map((s) => html`<li><a href="${playHref(s.metadata.namespace ?? '', s.metadata.name ?? '')}">${s.metadata.namespace}/${s.metadata.name}</a> ${readyOf(s)?.status === 'True' ? 'Ready' : (readyOf(s)?.reason ?? 'Pending')}</li>`)}</ul>` : html`<p class="none" id="lineage">No InferenceService serves it.</p>`}
<h3>Conditions</h3>${d.run ? conditionsTable(status?.conditions) : html`<p class="none">The object is gone; its conditions went with it.</p>`}
<h3>Events</h3>${d.eventsProblem ? problemBanner(d.eventsProblem) : eventsTable(d.events)}</section>`;
}

/** The service's state on the playground page: refreshed when the object changes. */
export function playStatus(svc: InferenceService | undefined, namespace: string, name: string, problem?: Problem): Html {
  if (!svc) return html`<section id="play-status" data-fragment="/fragments${playHref(namespace, name)}">${problemBanner(problem ?? { message: `No InferenceService ${name} in namespace ${namespace}`, hint: `kubectl get inferenceservices -n ${namespace} lists them` })}</section>`;
  const ready = readyOf(svc);
  const notReady = ready?.status === 'True' ? undefined : { message: `${name} is not Ready (${ready ? `${ready.reason}: ${ready.message}` : 'no status yet'})`, hint: 'the playground answers once READY is True; this page updates by itself' };
  return html`<section id="play-status" data-fragment="/fragments${playHref(namespace, name)}" data-ready="${ready?.status === 'True'}">
<h2>${namespace}/${name} <span class="task">${svc.spec.task ?? 'text-generation'}</span></h2>${problemBanner(problem ?? notReady)}
<dl class="facts"><dt>Model</dt><dd class="uri">${svc.status?.servingModelUri ?? svc.status?.modelUri ?? modelText(svc)}</dd><dt>Replicas</dt><dd>${svc.status?.readyReplicas ?? 0}/${svc.status?.replicas ?? 0} ready</dd><dt>Rollout</dt><dd>${rolloutText(svc)}</dd></dl></section>`;
}

/** The playground itself: a chat for text models, a prompt and an image for text-to-image. */
export function playPanel(task: string, namespace: string, name: string): Html {
  const api = `/api/play/${enc(namespace)}/${enc(name)}`;
  if (task === 'text-to-image') {
    return html`<section id="playground"><form id="image-form" data-api="${api}/image"><label>Prompt <input name="prompt" required maxlength="2000"></label><button>Generate image</button></form><p id="play-progress" class="note"></p><div id="image-out"></div></section>`;
  }
  return html`<section id="playground"><div id="chat" aria-live="polite"></div><form id="chat-form" data-api="${api}/chat">
<label>Message <textarea name="message" rows="2" required maxlength="8000"></textarea></label>
<label>Max tokens <input name="max_tokens" type="number" min="1" max="4096" value="64"></label><label>Temperature <input name="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></label><button>Send</button></form><p id="play-progress" class="note"></p></section>`;
}
