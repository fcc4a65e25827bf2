// The run records in S3: every s3://<bucket>/models/<slug>/<runId>/run.json, with its metadata.json.
// Listed folder by folder (S3's delimiter), so the thousands of checkpoint files are never listed.
import { parseMetadata } from '../../operator/src/api/metadata.js';
import { isRunRecord, type StoredRun } from './runs.js';
import type { Session } from './session.js';

const PARALLEL = 8;

export interface Progress {
  (done: number, total: number): void;
}

/** Runs `fn` over `items`, PARALLEL at a time, reporting progress. */
async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, progress?: Progress): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
      progress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

/**
 * The stored runs of the bucket. A prefix without run.json (a run still starting) is left out; one
 * whose run.json or metadata.json is not what the operator and trainer write is reported through
 * `warn` and left out or shown without its metadata, so one bad file never hides the others.
 */
export async function storedRuns(session: Session, warn: (line: string) => void, progress?: Progress): Promise<StoredRun[]> {
  const slugs = await session.s3Folders('models/');
  const prefixes = (await mapLimited(slugs, (s) => session.s3Folders(s))).flat();
  const found = await mapLimited(prefixes, async (prefix): Promise<StoredRun | undefined> => {
    const uri = `s3://${session.bucket}/${prefix}`;
    let record: unknown;
    try {
      record = await session.s3Json(`${prefix}run.json`);
    } catch (err) {
      if ((err as Error).name !== 'MalformedObjectError') throw err;
      warn(`skipped ${uri}run.json: ${(err as Error).message}`);
      return undefined;
    }
    if (record === undefined) return undefined;
    if (!isRunRecord(record)) {
      warn(`skipped ${uri}run.json: not a Lathe run record (no runId, phase or trainingRun)`);
      return undefined;
    }
    const stored: StoredRun = { prefixUri: uri, record };
    let metadata: unknown;
    try {
      metadata = await session.s3Json(`${prefix}metadata.json`);
    } catch (err) {
      if ((err as Error).name !== 'MalformedObjectError') throw err;
      warn(`${uri}metadata.json: ${(err as Error).message}`);
    }
    if (metadata !== undefined) {
      const parsed = parseMetadata(metadata);
      if (parsed.ok) stored.metadata = parsed.value;
      else warn(`${uri}metadata.json is invalid: ${parsed.errors[0]}`);
    }
    return stored;
  }, progress);
  return found.filter((s): s is StoredRun => s !== undefined);
}
