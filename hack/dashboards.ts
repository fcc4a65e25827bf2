// Writes the chart's Grafana dashboards (charts/lathe/dashboards/*.json) from the panel lists below,
// so that every panel gets the same data source, job and instance filters, units and layout.
// `npx tsx hack/dashboards.ts` rewrites them; `--check` fails when the committed files differ (the
// observability suite runs it, beside its lint and the check of every query against what Lathe
// exports). The JSON is Grafana's dashboard model (schemaVersion 39) for a Prometheus data source.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DASHBOARD_DIR = path.join(root, 'charts/lathe/dashboards');

/** Generation routes of the inference server (inference-image/lathe_inference/guard.py ROUTES). */
export const GENERATION_ROUTES = '/v1/completions|/v1/chat/completions|/v1/images/generations|/generate/text|/generate/image';

type Json = Record<string, unknown>;

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  type?: 'timeseries' | 'stat';
  /** Grid width (of 24); default 8. */
  w?: number;
  stack?: boolean;
  min?: number;
  max?: number;
}

type Section = { row: string; panels: PanelSpec[] };

const DS = { type: 'prometheus', uid: '$datasource' };

function datasourceVariable(): Json {
  return { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', includeAll: false, multi: false, options: [], skipUrlSync: false };
}

function queryVariable(name: string, label: string, query: string): Json {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    query,
    definition: query,
    refresh: 2, // on time range change
    multi: true,
    includeAll: true,
    allValue: '.+',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    regex: '',
    sort: 1,
    hide: 0,
    skipUrlSync: false,
  };
}

function panel(spec: PanelSpec, id: number, gridPos: Json): Json {
  const type = spec.type ?? 'timeseries';
  const defaults: Json = { unit: spec.unit, ...(spec.min !== undefined ? { min: spec.min } : {}), ...(spec.max !== undefined ? { max: spec.max } : {}) };
  if (type === 'timeseries') {
    defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stack ? 30 : 10, showPoints: 'never', spanNulls: false, stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' } };
  }
  return {
    id,
    type,
    title: spec.title,
    description: spec.description,
    datasource: DS,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options:
      type === 'timeseries'
        ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
        : { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto' },
    targets: spec.targets.map((t, i) => ({ datasource: DS, expr: t.expr, legendFormat: t.legend, refId: String.fromCharCode(65 + i), range: true, instant: false })),
  };
}

function dashboard(o: { uid: string; title: string; description: string; variables: Json[]; sections: Section[] }): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const section of o.sections) {
    panels.push({ id: id++, type: 'row', title: section.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    for (const spec of section.panels) {
      const w = spec.w ?? 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push(panel(spec, id++, { h: 8, w, x, y }));
      x += w;
    }
    y += 8;
  }
  return {
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: ['lathe'],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    annotations: { list: [] },
    links: [],
    templating: { list: [datasourceVariable(), ...o.variables] },
    panels,
  };
}

// ---- the operator -------------------------------------------------------------------------------

const OP = 'job=~"$job",instance=~"$instance"';
const RUNS = `${OP},object_namespace=~"$object_namespace"`;
const RATE = '[$__rate_interval]';

export const operatorDashboard = (): Json =>
  dashboard({
    uid: 'lathe-operator',
    title: 'Lathe / Operator',
    description: "The Lathe operator: runs and services by state, reconciles, work queues, API server and S3 traffic, the process. Gauges counted from the operator's caches are reported by every replica and shown with max().",
    variables: [
      queryVariable('job', 'Job', 'label_values(controller_runtime_reconcile_total, job)'),
      queryVariable('instance', 'Instance', 'label_values(controller_runtime_reconcile_total{job=~"$job"}, instance)'),
      queryVariable('object_namespace', 'Namespace', 'label_values(lathe_trainingruns{job=~"$job",instance=~"$instance"}, object_namespace)'),
    ],
    sections: [
      {
        row: 'TrainingRuns and InferenceServices',
        panels: [
          {
            title: 'TrainingRuns by phase',
            description: 'TrainingRuns in each phase (a run not reconciled yet counts as Pending), summed over the selected namespaces; max() over operator replicas, which all count from their caches.',
            unit: 'short',
            stack: true,
            targets: [{ expr: `sum by (phase) (max by (object_namespace, phase) (lathe_trainingruns{${RUNS}}))`, legend: '{{phase}}' }],
          },
          {
            title: 'Longest wait: Pending, Queued',
            description: 'How long the longest-waiting run has been Pending (no pod running yet) or Queued (Kueue has not admitted its Job). LatheTrainingRunStuckPending and LatheTrainingRunStuckQueued alert on it.',
            unit: 's',
            targets: [{ expr: `max by (object_namespace, phase) (lathe_trainingrun_waiting_seconds_max{${RUNS}})`, legend: '{{object_namespace}} {{phase}}' }],
          },
          {
            title: 'InferenceServices by readiness',
            description: "InferenceServices by their Ready condition's status and reason (RollingOut, RolledBack, FailedCreate, ...), summed over the selected namespaces.",
            unit: 'short',
            stack: true,
            targets: [{ expr: `sum by (ready, reason) (max by (object_namespace, ready, reason) (lathe_inferenceservices{${RUNS}}))`, legend: 'Ready={{ready}} {{reason}}' }],
          },
          {
            title: 'Preemptions and rollbacks',
            description: 'TrainingRun pods ended by a spot interruption, drain or eviction (counted in status.preemptions, not as failures), and InferenceServices rolled back to their last ready model, per interval.',
            unit: 'short',
            w: 12,
            targets: [
              { expr: `sum by (object_namespace) (increase(lathe_trainingrun_preemptions_total{${RUNS}}${RATE}))`, legend: 'preemptions {{object_namespace}}' },
              { expr: `sum by (object_namespace) (increase(lathe_inferenceservice_rollbacks_total{${RUNS}}${RATE}))`, legend: 'rollbacks {{object_namespace}}' },
            ],
          },
          {
            title: 'Leader',
            description: 'Which replica holds the Lease (1) and reconciles; the others stand by with warm caches. LatheOperatorNoLeader alerts when none does.',
            unit: 'bool_yes_no',
            w: 12,
            min: 0,
            max: 1,
            targets: [{ expr: `max by (instance) (leader_election_master_status{${OP}})`, legend: '{{instance}}' }],
          },
        ],
      },
      {
        row: 'Reconciles and work queues',
        panels: [
          {
            title: 'Reconciles',
            description: 'Reconciles per second by controller and result (success, error, requeue, requeue_after).',
            unit: 'ops',
            targets: [{ expr: `sum by (controller, result) (rate(controller_runtime_reconcile_total{${OP}}${RATE}))`, legend: '{{controller}} {{result}}' }],
          },
          {
            title: 'Reconcile errors',
            description: "Failed reconciles per second by controller; each is retried with backoff, and the operator's logs say why. LatheReconcileErrors alerts on their share.",
            unit: 'ops',
            targets: [{ expr: `sum by (controller) (rate(controller_runtime_reconcile_errors_total{${OP}}${RATE}))`, legend: '{{controller}}' }],
          },
          {
            title: 'Reconcile latency',
            description: 'p50 and p99 of the time one reconcile takes, by controller (API writes and S3 reads included).',
            unit: 's',
            targets: [
              { expr: `histogram_quantile(0.5, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket{${OP}}${RATE})))`, legend: 'p50 {{controller}}' },
              { expr: `histogram_quantile(0.99, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket{${OP}}${RATE})))`, legend: 'p99 {{controller}}' },
            ],
          },
          {
            title: 'Work queue depth',
            description: "Keys waiting in each controller's queue, per replica: on the leader it drains; a standby's queue only fills (its controllers start when it leads), so read the leader's line.",
            unit: 'short',
            targets: [{ expr: `sum by (instance, name) (workqueue_depth{${OP}})`, legend: '{{name}} {{instance}}' }],
          },
          {
            title: 'Queue wait',
            description: 'p99 of the time a key waits in the queue before a worker takes it, by queue.',
            unit: 's',
            targets: [{ expr: `histogram_quantile(0.99, sum by (name, le) (rate(workqueue_queue_duration_seconds_bucket{${OP}}${RATE})))`, legend: 'p99 {{name}}' }],
          },
          {
            title: 'Busy workers',
            description: 'Workers reconciling now against the maximum (LATHE_WORKERS), by controller.',
            unit: 'short',
            targets: [
              { expr: `sum by (controller) (controller_runtime_active_workers{${OP}})`, legend: 'active {{controller}}' },
              { expr: `max by (controller) (controller_runtime_max_concurrent_reconciles{${OP}})`, legend: 'max {{controller}}' },
            ],
          },
        ],
      },
      {
        row: 'API server and S3',
        panels: [
          {
            title: 'API writes',
            description: 'Writes the operator sends to the API server per second, by resource and verb (Events included). At rest this is zero.',
            unit: 'ops',
            targets: [{ expr: `sum by (resource, verb) (rate(lathe_api_writes_total{${OP}}${RATE}))`, legend: '{{verb}} {{resource}}' }],
          },
          {
            title: 'API write refusals',
            description: 'Writes answered with an error, by resource and HTTP code (409 on a repeated create is expected and harmless).',
            unit: 'ops',
            targets: [{ expr: `sum by (resource, code) (rate(lathe_api_writes_total{${OP},code!="2xx"}${RATE}))`, legend: '{{code}} {{resource}}' }],
          },
          {
            title: 'S3 requests',
            description: 'S3 requests per second by operation (get: progress.json and metadata.json, put: run.json, head: the bucket check) and outcome.',
            unit: 'ops',
            targets: [{ expr: `sum by (operation, outcome) (rate(lathe_s3_requests_total{${OP}}${RATE}))`, legend: '{{operation}} {{outcome}}' }],
          },
          {
            title: 'S3 errors',
            description: 'Failed S3 requests per second (unreachable, refused, throttled): runs wait with reason S3Unavailable and never fail for it. "invalid" is a file that is not JSON, the trainer\'s fault.',
            unit: 'ops',
            targets: [{ expr: `sum by (operation, outcome) (rate(lathe_s3_requests_total{${OP},outcome!="ok"}${RATE}))`, legend: '{{operation}} {{outcome}}' }],
          },
          {
            title: 'Bucket reachable at start',
            description: "Whether the start-up check reached the artifact bucket (S3 HeadBucket); informational, as /readyz's aws-access.",
            unit: 'bool_yes_no',
            type: 'stat',
            targets: [{ expr: `min by (bucket) (lathe_aws_access{${OP}})`, legend: '{{bucket}}' }],
          },
          {
            title: 'Informer restarts',
            description: 'Restarts of the list/watch informers by reason (watch errors, closed watches, 410 Gone, the watchdog), per interval.',
            unit: 'short',
            targets: [{ expr: `sum by (informer, reason) (increase(lathe_informer_restarts_total{${OP}}${RATE}))`, legend: '{{informer}} {{reason}}' }],
          },
        ],
      },
      {
        row: 'Process',
        panels: [
          {
            title: 'Memory',
            description: 'Resident memory per replica (the chart limits it to 256 MiB by default).',
            unit: 'bytes',
            targets: [{ expr: `sum by (instance) (process_resident_memory_bytes{${OP}})`, legend: '{{instance}}' }],
          },
          {
            title: 'CPU',
            description: 'CPU seconds per second per replica.',
            unit: 'short',
            targets: [{ expr: `sum by (instance) (rate(process_cpu_seconds_total{${OP}}${RATE}))`, legend: '{{instance}}' }],
          },
          {
            title: 'Event loop lag',
            description: "p99 of Node.js's event loop lag per replica: a busy loop delays every reconcile and watch.",
            unit: 's',
            targets: [{ expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds{${OP}})`, legend: '{{instance}}' }],
          },
          {
            title: 'Cached objects',
            description: "Objects in each informer's cache (the leader's and the standbys' are the same).",
            unit: 'short',
            w: 24,
            targets: [{ expr: `max by (informer) (lathe_informer_objects{${OP}})`, legend: '{{informer}}' }],
          },
        ],
      },
    ],
  });

// ---- serving ------------------------------------------------------------------------------------

const SV = 'job=~"$job",instance=~"$instance",namespace=~"$namespace",inference_service=~"$inference_service"';
const GEN = `${SV},route=~"${GENERATION_ROUTES}"`;

export const servingDashboard = (): Json =>
  dashboard({
    uid: 'lathe-serving',
    title: 'Lathe / Serving',
    description: "Lathe's model servers (InferenceServices): requests by status, latency, tokens, concurrency, shedding, model loading, and GPU utilisation from NVIDIA's DCGM exporter where it runs.",
    variables: [
      queryVariable('job', 'Job', 'label_values(lathe_requests_total, job)'),
      queryVariable('instance', 'Instance', 'label_values(lathe_requests_total{job=~"$job"}, instance)'),
      queryVariable('namespace', 'Namespace', 'label_values(lathe_requests_total{job=~"$job",instance=~"$instance"}, namespace)'),
      queryVariable('inference_service', 'InferenceService', 'label_values(lathe_requests_total{job=~"$job",instance=~"$instance",namespace=~"$namespace"}, inference_service)'),
    ],
    sections: [
      {
        row: 'Requests',
        panels: [
          {
            title: 'Requests by status',
            description: 'Generation requests per second by HTTP status code (429: at capacity; 503: shutting down, still loading or a queue timeout).',
            unit: 'reqps',
            stack: true,
            targets: [{ expr: `sum by (code) (rate(lathe_requests_total{${GEN}}${RATE}))`, legend: '{{code}}' }],
          },
          {
            title: 'Error ratio',
            description: 'Share of generation requests answered 5xx other than 503 (shedding and draining are their own panel). LatheServingErrorRate alerts on it.',
            unit: 'percentunit',
            targets: [
              {
                expr: `sum by (inference_service) (rate(lathe_requests_total{${GEN},code=~"5..",code!="503"}${RATE})) / sum by (inference_service) (rate(lathe_requests_total{${GEN}}${RATE}))`,
                legend: '{{inference_service}}',
              },
            ],
          },
          {
            title: 'Shed requests',
            description: 'Requests refused per second, by reason: overload (429 at capacity), queue_timeout (503 after waiting for a slot), draining (503 while a pod stops). LatheServingShedding alerts on overload and queue timeouts.',
            unit: 'reqps',
            targets: [{ expr: `sum by (reason) (rate(lathe_requests_shed_total{${SV}}${RATE}))`, legend: '{{reason}}' }],
          },
          {
            title: 'Latency',
            description: 'p50, p95 and p99 of generation requests, from arrival to the end of the response (streams included).',
            unit: 's',
            targets: [
              { expr: `histogram_quantile(0.5, sum by (le) (rate(lathe_request_duration_seconds_bucket{${GEN}}${RATE})))`, legend: 'p50' },
              { expr: `histogram_quantile(0.95, sum by (le) (rate(lathe_request_duration_seconds_bucket{${GEN}}${RATE})))`, legend: 'p95' },
              { expr: `histogram_quantile(0.99, sum by (le) (rate(lathe_request_duration_seconds_bucket{${GEN}}${RATE})))`, legend: 'p99' },
            ],
          },
          {
            title: 'Time to first token',
            description: 'Streaming requests: p50 and p95 of the time from admission to the first token.',
            unit: 's',
            targets: [
              { expr: `histogram_quantile(0.5, sum by (le) (rate(lathe_time_to_first_token_seconds_bucket{${SV}}${RATE})))`, legend: 'p50' },
              { expr: `histogram_quantile(0.95, sum by (le) (rate(lathe_time_to_first_token_seconds_bucket{${SV}}${RATE})))`, legend: 'p95' },
            ],
          },
          {
            title: 'In flight',
            description: 'Generation requests admitted and not finished (running or queued), and those running on the model now, by InferenceService.',
            unit: 'short',
            targets: [
              { expr: `sum by (inference_service) (lathe_requests_in_flight{${SV}})`, legend: 'in flight {{inference_service}}' },
              { expr: `sum by (inference_service) (lathe_generations_running{${SV}})`, legend: 'running {{inference_service}}' },
            ],
          },
        ],
      },
      {
        row: 'Throughput',
        panels: [
          {
            title: 'Tokens per second',
            description: 'Completion tokens generated and prompt tokens processed per second, by InferenceService.',
            unit: 'short',
            w: 12,
            targets: [
              { expr: `sum by (inference_service) (rate(lathe_tokens_generated_total{${SV}}${RATE}))`, legend: 'generated {{inference_service}}' },
              { expr: `sum by (inference_service) (rate(lathe_prompt_tokens_total{${SV}}${RATE}))`, legend: 'prompt {{inference_service}}' },
            ],
          },
          {
            title: 'Images per second',
            description: 'Images generated per second (text-to-image services), by InferenceService.',
            unit: 'short',
            w: 12,
            targets: [{ expr: `sum by (inference_service) (rate(lathe_images_generated_total{${SV}}${RATE}))`, legend: '{{inference_service}}' }],
          },
        ],
      },
      {
        row: 'Models and GPUs',
        panels: [
          {
            title: 'Model load time',
            description: 'Seconds from the server start to the model ready (download included), and the download alone, per pod.',
            unit: 's',
            targets: [
              { expr: `max by (pod) (lathe_model_load_seconds{${SV}})`, legend: 'load {{pod}}' },
              { expr: `max by (pod) (lathe_model_download_seconds{${SV}})`, legend: 'download {{pod}}' },
            ],
          },
          {
            title: 'Pods serving',
            description: 'Pods whose model is loaded and serving, and model loads that failed per interval (by reason), by InferenceService.',
            unit: 'short',
            targets: [
              { expr: `sum by (inference_service) (lathe_model_ready{${SV}})`, legend: 'ready {{inference_service}}' },
              { expr: `sum by (inference_service, reason) (increase(lathe_model_load_failures_total{${SV}}${RATE}))`, legend: 'load failed {{inference_service}} {{reason}}' },
            ],
          },
          {
            title: 'GPU utilisation',
            description: "GPU utilisation of the serving pods from NVIDIA's DCGM exporter (DCGM_FI_DEV_GPU_UTIL, with its pod and namespace labels kept); empty where no DCGM exporter runs. The exporter's own job and instance do not match this dashboard's, hence no job or instance filter.",
            unit: 'percent',
            min: 0,
            max: 100,
            targets: [{ expr: 'avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace=~"$namespace",pod=~"($inference_service)-.+"})', legend: '{{pod}}' }],
          },
        ],
      },
    ],
  });

export const DASHBOARDS: Record<string, () => Json> = {
  'lathe-operator.json': operatorDashboard,
  'lathe-serving.json': servingDashboard,
};

export const render = (make: () => Json): string => `${JSON.stringify(make(), null, 2)}\n`;

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    const p = path.join(DASHBOARD_DIR, file);
    const want = render(make);
    if (check) {
      let have = '';
      try {
        have = readFileSync(p, 'utf8');
      } catch {
        /* missing counts as stale */
      }
      if (have !== want) stale.push(path.relative(root, p));
    } else {
      writeFileSync(p, want);
    }
  }
  if (stale.length) {
    process.stderr.write(`stale dashboards (run npx tsx hack/dashboards.ts): ${stale.join(', ')}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
