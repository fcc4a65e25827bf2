// Runs that start from another run's model (`spec.model: run://<name>`), indexed by the run they
// wait on, so a phase change re-queues exactly its dependents. Scanning the namespace instead made
// each new run cost O(runs in the namespace): quadratic in a burst of thousands.
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { keyOf, objectKey } from '../runtime/informer.js';
import { modelRunName } from './names.js';

export class ModelDependents {
  private readonly byReferenced = new Map<string, Set<string>>();
  private readonly referenceOf = new Map<string, string>();

  /** Records (or updates) what `run` starts from; call on every add and update. */
  set(run: TrainingRun): void {
    const k = objectKey(run);
    const referenced = modelRunName(run.spec.model);
    const ref = referenced === undefined ? undefined : keyOf(run.metadata.namespace, referenced);
    const old = this.referenceOf.get(k);
    if (old === ref) return;
    if (old !== undefined) this.remove(k, old);
    if (ref === undefined) return;
    this.referenceOf.set(k, ref);
    let set = this.byReferenced.get(ref);
    if (!set) this.byReferenced.set(ref, (set = new Set()));
    set.add(k);
  }

  delete(run: TrainingRun): void {
    const k = objectKey(run);
    const old = this.referenceOf.get(k);
    if (old !== undefined) this.remove(k, old);
  }

  /** Keys of the runs whose model is run://<name> in `namespace`. */
  of(namespace: string, name: string): ReadonlySet<string> {
    return this.byReferenced.get(keyOf(namespace, name)) ?? EMPTY;
  }

  private remove(k: string, ref: string): void {
    this.referenceOf.delete(k);
    const set = this.byReferenced.get(ref);
    set?.delete(k);
    if (set?.size === 0) this.byReferenced.delete(ref);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
