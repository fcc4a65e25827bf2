// What a command talks to: the caller's cluster (their kubeconfig, as kubectl reads it, through the
// operator's own client) and S3 (their AWS credentials, through the operator's S3 code). Nothing
// here needs in-cluster privileges: the plugin acts as the person who runs it.
import { parseMetricsHistory, type MetricsHistory } from '../../operator/src/api/metadata.js';
import { S3ObjectStore } from '../../operator/src/aws/s3-store.js';
import { loadClusterAccess, type ClusterAccess } from '../../operator/src/client/cluster-access.js';
import { KubeApiError } from '../../operator/src/client/errors.js';
import { KubeClient, resourcePath, type Query, type Resource } from '../../operator/src/client/kube-client.js';
import { CliError, apiError, s3Error } from './errors.js';

export const TRAINING_RUNS: Resource = { group: 'lathe.dev', version: 'v1alpha1', plural: 'trainingruns' };
export const INFERENCE_SERVICES: Resource = { group: 'lathe.dev', version: 'v1alpha1', plural: 'inferenceservices' };
export const PODS: Resource = { version: 'v1', plural: 'pods' };
export const EVENTS: Resource = { version: 'v1', plural: 'events' };

export const DEFAULT_BUCKET = 'lathe-artifacts';

export class Session {
  private kube?: KubeClient;
  private s3?: S3ObjectStore;

  constructor(
    readonly bucket: string = process.env.LATHE_S3_BUCKET || DEFAULT_BUCKET,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The caller's cluster; a missing or broken kubeconfig is a CliError saying so. */
  get client(): KubeClient {
    if (!this.kube) {
      let access: ClusterAccess;
      try {
        access = loadClusterAccess(this.env);
      } catch (err) {
        throw new CliError(`no cluster to talk to: ${(err as Error).message.replace(/^no cluster to talk to: /, '')}`, 'kubectl lathe reads your kubeconfig as kubectl does (KUBECONFIG, else ~/.kube/config); `kubectl config current-context` shows which one');
      }
      this.kube = new KubeClient(access);
    }
    return this.kube;
  }

  get store(): S3ObjectStore {
    this.s3 ??= new S3ObjectStore();
    return this.s3;
  }

  /** The context's namespace, else `default`, as kubectl chooses it. */
  defaultNamespace(): string {
    return this.client.access.namespace ?? 'default';
  }

  /** GET through the API server, failures in the user's words (`what`: "listing TrainingRuns"). */
  async get<T>(path: string, what: string, query?: Query): Promise<T> {
    try {
      return await this.client.get<T>(path, query);
    } catch (err) {
      throw apiError(err, this.client.access.server, what);
    }
  }

  /** One object, or undefined when it does not exist. */
  async find<T>(r: Resource, namespace: string, name: string, what: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(resourcePath({ ...r, namespace, name }));
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404 && err.status?.reason === 'NotFound' && err.status.message?.includes(`"${name}"`)) return undefined;
      throw apiError(err, this.client.access.server, what);
    }
  }

  async list<T>(r: Resource, namespace: string | undefined, what: string, query?: Query): Promise<T[]> {
    const body = await this.get<{ items?: T[] }>(resourcePath({ ...r, ...(namespace ? { namespace } : {}) }), what, query);
    return body.items ?? [];
  }

  /** The parsed JSON at s3://bucket/key (undefined: absent); failures in the user's words. */
  async s3Json(key: string): Promise<unknown> {
    try {
      return await this.store.getJson(this.bucket, key);
    } catch (err) {
      if ((err as Error).name === 'MalformedObjectError') throw err; // the caller says what to do
      throw s3Error(err, `s3://${this.bucket}/${key}`);
    }
  }

  async s3Folders(prefix: string): Promise<string[]> {
    try {
      return await this.store.listFolders(this.bucket, prefix);
    } catch (err) {
      throw s3Error(err, `s3://${this.bucket}/${prefix}`);
    }
  }

  /** A run's metrics-history.json, validated; undefined when the trainer has written none. */
  async metricsHistory(prefixKey: string): Promise<MetricsHistory | undefined> {
    const key = `${prefixKey}metrics-history.json`;
    let raw: unknown;
    try {
      raw = await this.store.getJson(this.bucket, key);
    } catch (err) {
      if ((err as Error).name === 'MalformedObjectError') throw new CliError(`s3://${this.bucket}/${key} is malformed: ${(err as Error).message}`, 'the trainer rewrites it at its next progress write; a finished run keeps it as it is (the table and curves are drawn without it)');
      throw s3Error(err, `s3://${this.bucket}/${key}`);
    }
    if (raw === undefined) return undefined;
    const parsed = parseMetricsHistory(raw);
    if (!parsed.ok) throw new CliError(`s3://${this.bucket}/${key} is malformed: ${parsed.errors.slice(0, 3).join('; ')}`, 'it was not written by a Lathe trainer of this version (schemas/metrics-history.schema.json says what it must hold)');
    return parsed.value;
  }

  close(): void {
    this.kube?.close();
  }
}
