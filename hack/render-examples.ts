// Prints, as multi-document YAML, the objects the operator renders for the TrainingRuns and
// InferenceServices of the example files: each run's attempt-1 Job (and its headless Service), each
// service's Deployment, Service and HPA, and the Ingress or HTTPRoute of its spec.expose. It runs
// the operator's pure render functions (render.ts of each controller) with the operator's default
// settings, so what the scanners judge (hack/scan.sh) is what a cluster would be given. A service
// that serves a run gets that run's model URI as if it had succeeded. Files without Lathe objects
// (the Namespace, Argo CD's Applications) render nothing.
//
//   npx tsx hack/render-examples.ts [file.yaml ...]     (default: examples/*.yaml)
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { InferenceServiceSchema, type InferenceService } from '../operator/src/api/schema/inferenceservice.js';
import { TrainingRunSchema, type TrainingRun } from '../operator/src/api/schema/trainingrun.js';
import { loadConfig } from '../operator/src/config/operator-config.js';
import { render as renderService } from '../operator/src/inferenceservice/render.js';
import { RUN_FILES } from '../operator/src/trainingrun/names.js';
import { planRun } from '../operator/src/trainingrun/plan.js';
import { render as renderRun } from '../operator/src/trainingrun/render.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the API server would have added: a uid and a creation time (the run id derives from them). */
function asStored<T extends TrainingRun | InferenceService>(obj: T): T {
  return { ...obj, metadata: { uid: `example-${obj.metadata.name}`, creationTimestamp: new Date('2026-01-01T00:00:00Z'), generation: 1, ...obj.metadata } };
}

export function renderExamples(files: string[]): { file: string; objects: object[] }[] {
  const config = loadConfig({});
  const docs = files.map((file) => ({
    file,
    objects: parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as { apiVersion?: string; kind?: string } | null)
      .filter((o): o is { apiVersion: string; kind: string } => o?.apiVersion === 'lathe.dev/v1alpha1'),
  }));
  const runs = new Map<string, TrainingRun>();
  for (const { objects } of docs) {
    for (const o of objects) {
      if (o.kind !== 'TrainingRun') continue;
      const run = asStored(TrainingRunSchema.parse(o));
      runs.set(`${run.metadata.namespace}/${run.metadata.name}`, run);
    }
  }
  const artifactOf = (namespace: string | undefined, name: string): string => {
    const run = runs.get(`${namespace}/${name}`);
    if (!run) throw new Error(`no example TrainingRun ${namespace}/${name} to take a model from`);
    return `${planRun(run, config.s3Bucket, 1).location.prefixUri}${RUN_FILES.checkpoint}`;
  };
  return docs.map(({ file, objects }) => ({
    file,
    objects: objects.flatMap((o): object[] => {
      if (o.kind === 'TrainingRun') {
        const run = asStored(TrainingRunSchema.parse(o));
        const model = run.spec.model ?? 'scratch';
        const modelUri = model.startsWith('run://') ? artifactOf(run.metadata.namespace, model.slice('run://'.length)) : model;
        const { job, service } = renderRun({ plan: planRun(run, config.s3Bucket, 1), config, modelUri });
        return service ? [service, job] : [job];
      }
      if (o.kind === 'InferenceService') {
        const isvc = asStored(InferenceServiceSchema.parse(o));
        const modelUri = isvc.spec.model.uri ?? artifactOf(isvc.metadata.namespace, isvc.spec.model.trainingRun!);
        const { deployment, service, hpa, ingress, httpRoute } = renderService({ isvc, modelUri, config });
        return [deployment, service, ...(hpa ? [hpa] : []), ...(ingress ? [ingress] : []), ...(httpRoute ? [httpRoute] : [])];
      }
      throw new Error(`${file}: unknown kind ${o.kind}`);
    }),
  }));
}

function main(): void {
  const args = process.argv.slice(2);
  const dir = path.join(root, 'examples');
  const files = args.length ? args : readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f));
  const out: string[] = [];
  for (const { file, objects } of renderExamples(files)) {
    for (const o of objects) out.push(`# Rendered by the operator from ${path.relative(root, file)}\n${stringify(o)}`);
  }
  process.stdout.write(out.join('---\n'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
