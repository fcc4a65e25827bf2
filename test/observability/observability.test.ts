// The observability checks (hack/observability.sh runs them; `make test-observability`):
//  - the chart's Grafana dashboards: fresh from hack/dashboards.ts, shipped in a ConfigMap with the
//    sidecar's label, clean under Grafana's dashboard-linter (--strict, each exclusion with its
//    reason), every query parsed by promtool;
//  - the chart's PrometheusRule: `promtool check rules`, and `promtool test rules` with a unit test
//    for every alert (alerts.test.yaml);
//  - metric consistency: every metric a panel, a variable or an alert queries is exported by the
//    operator (its real registry, built in-process) or the inference server (exported-metrics.txt,
//    which the Python suite checks against the real server), DCGM_* and Prometheus's own `up` aside;
//  - the GPU autoscaling example (docs/gpu-autoscaling/): the adapter's queries parse, its metric is
//    the one the example InferenceService scales on, and the operator renders that HPA.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument -- rendered manifests and dashboards are untyped */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DASHBOARDS, DASHBOARD_DIR, render as renderDashboard } from '../../hack/dashboards.js';
import { InferenceServiceSchema } from '../../operator/src/api/schema/inferenceservice.js';
import { render as renderInferenceService } from '../../operator/src/inferenceservice/render.js';
import { configWith } from '../support/config.js';
import { metricFamilies, operatorExposition, operatorLabelNames, seriesNames } from '../support/operator-metrics.js';
import { matchedLabels, metricNames, variableSelector, withGrafanaVariables } from './promql.js';

type Obj = Record<string, any>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const here = path.join(root, 'test/observability');
const chartDir = path.join(root, 'charts/lathe');

function tool(name: 'helm' | 'promtool' | 'dashboard-linter'): string {
  const fromEnv = process.env[name.toUpperCase().replace('-', '_')];
  if (fromEnv) return fromEnv;
  return execFileSync(path.join(root, 'hack/tools.sh'), ['path', name], { encoding: 'utf8' }).trim();
}
const helm = tool('helm');
const promtool = tool('promtool');
const dashboardLinter = tool('dashboard-linter');

const work = mkdtempSync(path.join(tmpdir(), 'lathe-observability-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = root): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function helmTemplate(args: string[] = []): Obj[] {
  const r = spawnSync(helm, ['template', 'lathe', chartDir, '--namespace', 'lathe-system', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const lintConfig = path.join(here, 'dashboards.lint.yaml');

/** Runs Grafana's dashboard-linter in strict mode; its findings are the lines it marks with ❌. */
function lint(file: string, config = ['--config', lintConfig]): { code: number; out: string; findings: string[] } {
  const r = run(dashboardLinter, ['lint', '--strict', ...config, file]);
  // eslint-disable-next-line no-control-regex -- the linter colours its marks
  const plain = r.out.replace(/\x1b\[[0-9;]*m/g, '');
  return { ...r, out: plain, findings: plain.split('\n').filter((l) => l.includes('❌')) };
}

/** Writes expressions as recording rules and lets promtool's parser judge them. */
function promtoolParses(exprs: { name: string; expr: string }[]): { code: number; out: string } {
  const file = path.join(work, `exprs-${Math.random().toString(36).slice(2)}.yaml`);
  const rules = exprs.map((e, i) => ({ record: `lathe_check:expr_${i}`, expr: e.expr, labels: { source: e.name } }));
  writeFileSync(file, stringify({ groups: [{ name: 'expressions', rules }] }));
  return run(promtool, ['check', 'rules', '--lint=none', file]);
}

const dashboards = Object.keys(DASHBOARDS).map((file) => ({ file, json: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) as Obj }));

function panelsOf(d: Obj): Obj[] {
  return (d.panels as Obj[]).flatMap((p) => (p.type === 'row' ? ((p.panels ?? []) as Obj[]) : [p]));
}

/** Every PromQL expression of the dashboards: panel targets, and the selectors of query variables. */
function dashboardExprs(): { name: string; expr: string }[] {
  return dashboards.flatMap(({ json }) => [
    ...panelsOf(json).flatMap((p) => ((p.targets ?? []) as Obj[]).map((t, i) => ({ name: `${json.title} / ${p.title} [${i}]`, expr: withGrafanaVariables(String(t.expr)) }))),
    ...((json.templating.list as Obj[]).filter((v) => v.type === 'query').map((v) => ({ name: `${json.title} / variable ${v.name}`, expr: variableSelector(String(v.query)) ?? String(v.query) }))),
  ]);
}

// ---- dashboards --------------------------------------------------------------------------------

describe('dashboards', () => {
  it('are what hack/dashboards.ts writes (run `npx tsx hack/dashboards.ts` after editing it)', () => {
    for (const [file, make] of Object.entries(DASHBOARDS)) expect(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8'), file).toBe(renderDashboard(make));
  });

  it('ship in a ConfigMap with the Grafana sidecar label, only when switched on', () => {
    expect(helmTemplate().filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    const [cm, ...more] = helmTemplate(['--set', 'dashboards.enabled=true']).filter((o) => o.kind === 'ConfigMap');
    expect(more).toEqual([]);
    expect(cm!.metadata).toMatchObject({ name: 'lathe-dashboards', namespace: 'lathe-system', labels: { grafana_dashboard: '1', 'app.kubernetes.io/component': 'dashboards' } });
    expect(Object.keys(cm!.data).sort()).toEqual(Object.keys(DASHBOARDS).sort());
    for (const { file, json } of dashboards) expect(JSON.parse(cm!.data[file])).toEqual(json);
    // The label, its value, the namespace and a folder annotation are the sidecar's to choose.
    const custom = helmTemplate([
      '--set', 'dashboards.enabled=true', '--set', 'dashboards.label=grafana.io/dashboard', '--set', 'dashboards.labelValue=lathe',
      '--set', 'dashboards.namespace=monitoring', '--set', 'dashboards.annotations.grafana_folder=Lathe',
    ]).find((o) => o.kind === 'ConfigMap')!;
    expect(custom.metadata.labels['grafana.io/dashboard']).toBe('lathe');
    expect(custom.metadata.labels.grafana_dashboard).toBeUndefined();
    expect(custom.metadata).toMatchObject({ namespace: 'monitoring', annotations: { grafana_folder: 'Lathe' } });
  });

  it("pass Grafana's dashboard-linter, each exclusion with its reason", () => {
    const config = parse(readFileSync(lintConfig, 'utf8')) as { exclusions: Record<string, { reason?: string; entries: unknown[] }> };
    for (const [rule, exclusion] of Object.entries(config.exclusions)) expect(exclusion.reason?.trim(), `exclusion of ${rule}`).toBeTruthy();
    for (const { file } of dashboards) {
      const r = lint(path.join(DASHBOARD_DIR, file));
      expect(r.findings, file).toEqual([]);
      expect(r.code, r.out).toBe(0);
    }
    // The exclusions are needed: without them the linter fails the DCGM panel (and only it).
    const bare = lint(path.join(DASHBOARD_DIR, 'lathe-serving.json'), []);
    expect(bare.code).not.toBe(0);
    expect(bare.findings.every((f) => f.includes("panel 'GPU utilisation'")), bare.out).toBe(true);
  });

  it('the lint catches what its rules are for', () => {
    const bad = structuredClone(dashboards[0]!.json);
    bad.editable = true;
    const p = panelsOf(bad)[0]!;
    p.fieldConfig.defaults.unit = 'furlongs';
    p.description = '';
    p.targets = [{ expr: 'rate(lathe_api_writes_total{job=~"$job"}[5m])', refId: 'A' }];
    const file = path.join(work, 'bad-dashboard.json');
    writeFileSync(file, JSON.stringify(bad));
    const r = lint(file);
    expect(r.code).not.toBe(0);
    expect(r.findings.join('\n')).toMatch(/has missing title or description/);
    expect(r.findings.join('\n')).toMatch(/invalid units defined: 'furlongs'/);
    expect(r.findings.join('\n')).toMatch(/instance selector not found/);
    expect(r.findings.join('\n')).toMatch(/should use \$__rate_interval/);
    expect(r.findings.join('\n')).toMatch(/is editable/);
  });

  it('query only PromQL that promtool parses (target-promql-rule, template-label-promql-rule)', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(40);
    const r = promtoolParses(exprs);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
    expect(promtoolParses([{ name: 'broken', expr: 'sum by (le (rate(x[5m]))' }]).code).not.toBe(0);
  });
});

// ---- scraping the serving pods -----------------------------------------------------------------

describe('PodMonitor of the serving pods', () => {
  it('selects the pods the operator renders, on their metrics port, in every training namespace', () => {
    expect(helmTemplate().filter((o) => o.kind === 'PodMonitor')).toEqual([]);
    const [pm] = helmTemplate(['--set', 'metrics.podMonitor.enabled=true', '--set', 'trainingNamespaces={ml,research}']).filter((o) => o.kind === 'PodMonitor');
    const isvc = InferenceServiceSchema.parse(parse(readFileSync(path.join(root, 'examples/inferenceservice-smol-llama.yaml'), 'utf8')));
    const pod = renderInferenceService({ isvc, modelUri: 's3://lathe-artifacts/models/m/v1/checkpoint/', config: configWith() }).deployment.spec!.template;
    expect(pod.metadata!.labels).toMatchObject(pm!.spec.selector.matchLabels);
    const endpoint = pm!.spec.podMetricsEndpoints[0];
    expect(pod.spec!.containers[0]!.ports!.map((p) => p.name)).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
    expect(pm!.spec.namespaceSelector.matchNames).toEqual(['ml', 'research']);
    // job is the pods' app.kubernetes.io/name ("lathe-inference", what the serving alerts select);
    // inference_service is the pod's InferenceService, from its label.
    expect(pm!.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(pod.metadata!.labels!['app.kubernetes.io/name']).toBe('lathe-inference');
    expect(endpoint.relabelings).toEqual([{ sourceLabels: ['__meta_kubernetes_pod_label_lathe_dev_inference_service'], targetLabel: 'inference_service' }]);
    expect(Object.keys(pod.metadata!.labels!)).toContain('lathe.dev/inference-service');
  });
});

// ---- alerts --------------------------------------------------------------------------------------

function renderedRule(args: string[] = []): Obj {
  const rules = helmTemplate(['--set', 'metrics.prometheusRule.enabled=true', ...args]).filter((o) => o.kind === 'PrometheusRule');
  expect(rules).toHaveLength(1);
  return rules[0]!;
}

describe('alerts', () => {
  const rule = renderedRule();
  const rulesFile = path.join(work, 'lathe-rules.yaml');
  writeFileSync(rulesFile, stringify(rule.spec));
  const alerts = (rule.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => r.alert as string));

  it('are off by default, like the ServiceMonitor', () => {
    expect(helmTemplate().filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
    expect(alerts.sort()).toEqual(
      [
        'LatheOperatorDown', 'LatheOperatorNoLeader', 'LatheReconcileErrors', 'LatheTrainingRunsFailing', 'LatheTrainingRunStuckPending',
        'LatheTrainingRunStuckQueued', 'LatheInferenceServiceRolledBack', 'LatheServingErrorRate', 'LatheServingLatencyHigh', 'LatheServingShedding',
      ].sort(),
    );
  });

  it('pass `promtool check rules`', () => {
    const r = run(promtool, ['check', 'rules', rulesFile]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('each have a `promtool test rules` unit test, and the tests pass', () => {
    const tests = parse(readFileSync(path.join(here, 'alerts.test.yaml'), 'utf8')) as Obj;
    const tested = new Set((tests.tests as Obj[]).flatMap((t) => ((t.alert_rule_test ?? []) as Obj[]).filter((a) => (a.exp_alerts as Obj[]).length > 0).map((a) => a.alertname as string)));
    expect(alerts.filter((a) => !tested.has(a)), 'alerts without a test that expects them to fire').toEqual([]);
    copyFileSync(path.join(here, 'alerts.test.yaml'), path.join(work, 'alerts.test.yaml'));
    const r = run(promtool, ['test', 'rules', 'alerts.test.yaml'], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('take their thresholds, labels and namespace from the values', () => {
    const custom = renderedRule([
      '--set', 'metrics.prometheusRule.thresholds.pendingSeconds=600', '--set', 'metrics.prometheusRule.alertLabels.team=ml-platform',
      '--set', 'metrics.prometheusRule.labels.release=kube-prometheus-stack', '--set', 'metrics.prometheusRule.namespace=monitoring',
    ]);
    expect(custom.metadata).toMatchObject({ namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } });
    const all = (custom.spec.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
    expect(all.find((r) => r.alert === 'LatheTrainingRunStuckPending')!.expr).toMatch(/> 600$/);
    for (const r of all) expect(r.labels, r.alert).toMatchObject({ team: 'ml-platform', severity: expect.stringMatching(/^(warning|critical)$/) });
    // The operator's series are those of this release: its job and namespace.
    expect(all.find((r) => r.alert === 'LatheOperatorDown')!.expr).toBe('absent(up{job="lathe",namespace="lathe-system"} == 1)');
  });
});

// ---- metric consistency ----------------------------------------------------------------------------

/** Series a scrape adds by itself (Prometheus's own), which no exporter lists. */
const SCRAPE_SERIES = new Set(['up']);
/** Metrics of NVIDIA's DCGM exporter, which Lathe does not run: the GPU panels are empty without it. */
const isDcgm = (name: string) => name.startsWith('DCGM_');

function inferenceServerSeries(): Set<string> {
  const families = new Map<string, string>();
  for (const line of readFileSync(path.join(root, 'inference-image/exported-metrics.txt'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, type] = line.trim().split(/\s+/);
    families.set(name!, type!);
  }
  return seriesNames(families);
}

describe('metric consistency', () => {
  it('finds the metric names of an expression', () => {
    expect([...metricNames('histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{job=~"$job",x="b{c}"}[5m]))) > 1e+03 or vector(0)')]).toEqual(['a_bucket']);
    expect([...metricNames('max(x offset 15m) - on (ns) group_left (y) z:rec * 0 and bool_metric')].sort()).toEqual(['bool_metric', 'x', 'z:rec']);
  });

  it('every metric a dashboard or an alert queries is exported by the operator or the inference server (DCGM_* and up aside)', async () => {
    const operator = seriesNames(metricFamilies(await operatorExposition()));
    const server = inferenceServerSeries();
    expect(operator.has('lathe_trainingruns') && server.has('lathe_requests_total')).toBe(true);
    const queried = new Map<string, string[]>();
    const note = (where: string, expr: string) => {
      for (const n of metricNames(expr)) queried.set(n, [...(queried.get(n) ?? []), where]);
    };
    for (const e of dashboardExprs()) note(e.name, e.expr);
    for (const g of renderedRule().spec.groups as Obj[]) for (const r of g.rules as Obj[]) note(`alert ${r.alert}`, r.expr);
    const unexported = [...queried].filter(([n]) => !operator.has(n) && !server.has(n) && !SCRAPE_SERIES.has(n) && !isDcgm(n));
    expect(Object.fromEntries(unexported), 'queried but exported by neither the operator nor the inference server').toEqual({});
    // The check is not vacuous: both sources and the DCGM exception are really used.
    expect([...queried.keys()].filter((n) => operator.has(n)).length).toBeGreaterThan(15);
    expect([...queried.keys()].filter((n) => server.has(n)).length).toBeGreaterThan(10);
    expect([...queried.keys()].some(isDcgm)).toBe(true);
    // And a panel that queries a metric nobody exports is caught.
    expect(metricNames('sum(rate(lathe_reconciles_totl[5m]))').has('lathe_reconciles_totl') && !operator.has('lathe_reconciles_totl')).toBe(true);
  });
});

/** The inference server's families and their label names (exported-metrics.txt's third column). */
function inferenceServerLabels(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of readFileSync(path.join(root, 'inference-image/exported-metrics.txt'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, , labels] = line.trim().split(/\s+/);
    out.set(name!, new Set(labels && labels !== '-' ? labels.split(',') : []));
  }
  return out;
}

describe('label consistency', () => {
  /** Labels a Prometheus Operator scrape adds to every series of a target. */
  const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'pod', 'service', 'endpoint', 'container']);
  const family = (series: string) => series.replace(/_(bucket|sum|count)$/, '');

  it("every label a query matches on is one of the metric's own (operator or server) or a scrape target label", () => {
    const labels = operatorLabelNames();
    // The serving pods' series also carry inference_service, which the PodMonitor adds.
    for (const [name, own] of inferenceServerLabels()) labels.set(name, new Set([...own, 'inference_service']));
    const exprs = [
      ...dashboardExprs(),
      ...(renderedRule().spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => ({ name: `alert ${r.alert}`, expr: String(r.expr) }))),
    ];
    const wrong: string[] = [];
    let checked = 0;
    for (const { name, expr } of exprs) {
      for (const [metric, used] of matchedLabels(expr)) {
        const own = labels.get(family(metric)) ?? labels.get(metric);
        if (!own) continue; // DCGM's or up
        checked++;
        for (const l of used) {
          if (!own.has(l) && !TARGET_LABELS.has(l) && !(l === 'le' && metric.endsWith('_bucket'))) wrong.push(`${name}: ${metric} has no label ${l}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(40);
    expect([...matchedLabels('rate(lathe_trainingruns{phaze="Failed",job=~"$job"}[5m])')]).toEqual([['lathe_trainingruns', new Set(['phaze', 'job'])]]);
  });
});

// ---- GPU autoscaling -------------------------------------------------------------------------------

describe('GPU autoscaling on DCGM (docs/gpu-autoscaling/)', () => {
  const dir = path.join(root, 'docs/gpu-autoscaling');
  const values = parse(readFileSync(path.join(dir, 'prometheus-adapter-values.yaml'), 'utf8')) as Obj;
  const isvc = InferenceServiceSchema.parse(parse(readFileSync(path.join(dir, 'inferenceservice-gpu-autoscaling.yaml'), 'utf8')));

  it("maps DCGM_FI_DEV_GPU_UTIL to the Pods metric the example's HPA scales on", () => {
    const rules = values.rules.custom as Obj[];
    expect(values.rules.default).toBe(false);
    const gpu = rules.find((r) => new RegExp(r.name.matches as string).test('DCGM_FI_DEV_GPU_UTIL'))!;
    expect(gpu.resources.overrides).toEqual({ namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
    expect(gpu.name.as).toBe(isvc.spec.autoscaling!.podsMetric!.name);
    // The adapter's templates filled in as it fills them for one pod's query; promtool parses both.
    const metricsQuery = String(gpu.metricsQuery).replaceAll('<<.Series>>', 'DCGM_FI_DEV_GPU_UTIL').replaceAll('<<.LabelMatchers>>', 'namespace="ml",pod=~"story-writer-gpu-.*"').replaceAll('<<.GroupBy>>', 'pod');
    const r = promtoolParses([
      { name: 'seriesQuery', expr: String(gpu.seriesQuery) },
      { name: 'metricsQuery', expr: metricsQuery },
    ]);
    expect(r.code, r.out).toBe(0);
    expect(metricNames(metricsQuery)).toEqual(new Set(['DCGM_FI_DEV_GPU_UTIL']));
  });

  it('the operator renders the HPA with that Pods metric and target', () => {
    const { hpa } = renderInferenceService({ isvc, modelUri: 's3://lathe-artifacts/models/m/v1/checkpoint/', config: configWith() });
    expect(hpa!.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'story-writer-gpu' },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [{ type: 'Pods', pods: { metric: { name: 'gpu_utilization' }, target: { type: 'AverageValue', averageValue: '70' } } }],
    });
  });
});
