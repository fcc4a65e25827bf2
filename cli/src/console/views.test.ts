import { describe, expect, it } from 'vitest';
import { makeInferenceService, makeTrainingRun } from '../../../test/support/builders.js';
import { escapeHtml, html } from './html.js';
import { playStatus, runFragment, runsTable, servicesTable, servingServices } from './views.js';
import { rowOfRun } from '../runs.js';

const NOW = new Date('2026-12-02T12:00:00Z');

describe('console views', () => {
  it('escapes everything the cluster says, and inserts fragments as they are', () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', inner]}${undefined}${false}${0}</p>`.text).toBe('<p><b>&lt;i&gt;</b>&lt;<b>&lt;i&gt;</b>0</p>');
  });

  it('lists runs with a link to each page, deleted ones by uid, and says when there are none', () => {
    const run = makeTrainingRun('smol').status({ phase: 'Running', progress: { summary: '1/3', loss: 2.345678 } }).obj();
    const row = rowOfRun(run, NOW);
    const table = runsTable([row, { ...row, name: 'old', source: 's3', uid: 'u-1' }]).text;
    expect(table).toContain('<a href="/runs/ml/smol">smol</a>');
    expect(table).toContain('<a href="/runs/ml/old?uid=u-1">old</a>');
    expect(table).toMatch(/data-run="ml\/old" data-source="s3">[\s\S]*<td>deleted<\/td>/);
    expect(table).toContain('<td class="num">2.346</td>');
    expect(runsTable([], { message: 'cannot reach the API server', hint: 'check it' }).text).toMatch(/role="alert"><strong>cannot reach the API server<\/strong><br><span>check it<\/span>[\s\S]*No TrainingRuns\./);
  });

  it('finds the services that serve a run by reference, by status and by artifact URI', () => {
    const uri = 's3://lathe-artifacts/models/smol/r1/checkpoint/';
    const byRef = makeInferenceService('a').modelFromRun('smol').obj();
    const byUri = makeInferenceService('b').model(uri).obj();
    const byCanary = makeInferenceService('c').status({ canaryModel: { uri, trainingRun: 'smol' } }).obj();
    const other = makeInferenceService('d').modelFromRun('other').obj();
    const elsewhere = { ...makeInferenceService('e').modelFromRun('smol').obj(), metadata: { name: 'e', namespace: 'team-b' } };
    expect(servingServices('ml', 'smol', uri, [byRef, byUri, byCanary, other, elsewhere]).map((s) => s.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(servingServices('ml', 'smol', undefined, [byUri])).toEqual([]);
  });

  it('shows readiness and the rollout of each service', () => {
    const ready = makeInferenceService('writer').status({ replicas: 2, readyReplicas: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'serving', lastTransitionTime: '2026-12-02T10:00:00Z' }], rollout: { phase: 'Running', templateHash: 'h', step: 0, canaryShare: 25 } }).obj();
    ready.spec.rollout = { strategy: 'Canary', steps: [{ weight: 25 }, { weight: 50 }] } as never;
    const t = servicesTable([ready]).text;
    expect(t).toContain('<span class="ready">Ready</span>');
    expect(t).toContain('<td class="num">1/2</td><td>Running step 1/2, canary 25%</td>');
    expect(t).toContain('<a href="/play/ml/writer">writer</a>');
    const loading = makeInferenceService('img').status({ conditions: [{ type: 'Ready', status: 'False', reason: 'ModelLoading', message: 'downloading', lastTransitionTime: '2026-12-02T10:00:00Z' }] }).obj();
    expect(playStatus(loading, 'ml', 'img').text).toContain('img is not Ready (ModelLoading: downloading)');
    expect(playStatus(undefined, 'ml', 'gone').text).toContain('No InferenceService gone in namespace ml');
  });

  it('draws a run page from the object, or from the S3 record of a deleted run, and names a bad history', () => {
    const run = makeTrainingRun('smol').status({ phase: 'Succeeded', runId: 'r1', artifact: { uri: 's3://b/models/smol/r1/checkpoint/', recordUri: 's3://b/models/smol/r1/run.json' }, conditions: [{ type: 'Succeeded', status: 'True', reason: 'Completed', message: 'done', lastTransitionTime: '2026-12-02T10:00:00Z' }] }).obj();
    const history = { schemaVersion: 1 as const, runId: 'r1', maxPoints: 500, thinned: 0, updatedAt: '2026-12-02T10:00:00Z', points: [{ step: 1, epoch: 1, time: 't', loss: 2, learningRate: 0.001 }, { step: 2, epoch: 1, time: 't', loss: 1, learningRate: 0.0005 }] };
    const page = runFragment({ namespace: 'ml', name: 'smol', run, events: [{ metadata: {}, involvedObject: {}, type: 'Warning', reason: 'SpotInterrupted', message: 'node <gone>', count: 2 }], history, servedBy: [makeInferenceService('writer').obj()] }, NOW).text;
    expect(page).toContain('data-chart="Loss"');
    expect(page).toContain('data-series="learningRate"');
    expect(page).toContain('<tr data-condition="Succeeded"><td>Succeeded</td><td>True</td><td>Completed</td>');
    expect(page).toContain('<td>SpotInterrupted</td><td>node &lt;gone&gt;</td><td class="num">2</td>');
    expect(page).toContain('<a href="/play/ml/writer">ml/writer</a>');
    expect(page).toContain('s3://b/models/smol/r1/run.json');

    const stored = { prefixUri: 's3://b/models/smol/r0/', record: { runId: 'r0', phase: 'Succeeded', createdAt: '2026-12-01T10:00:00Z', trainingRun: { name: 'smol', namespace: 'ml', uid: 'u0' } } } as never;
    const gone = runFragment({ namespace: 'ml', name: 'smol', stored, events: [], historyProblem: { message: 's3://b/models/smol/r0/metrics-history.json is malformed: /points/0/step', hint: 'it was not written by a Lathe trainer' }, servedBy: [] }, NOW).text;
    expect(gone).toContain('object deleted: from its S3 record');
    expect(gone).toContain('is malformed: /points/0/step');
    expect(gone).toContain('The object is gone; its conditions went with it.');
    expect(runFragment({ namespace: 'ml', name: 'nope', events: [], servedBy: [] }, NOW).text).toContain('No TrainingRun nope in namespace ml, and no record of one in S3');
  });
});
