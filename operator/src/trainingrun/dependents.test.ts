import { describe, expect, it } from 'vitest';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { ModelDependents } from './dependents.js';

const run = (name: string, model: string, namespace = 'ml') => ({ metadata: { name, namespace }, spec: { model } }) as unknown as TrainingRun;

describe('ModelDependents', () => {
  it('finds the runs starting from a run, per namespace, and forgets deleted ones', () => {
    const d = new ModelDependents();
    d.set(run('base', 'hf://org/model'));
    d.set(run('ft-1', 'run://base'));
    d.set(run('ft-2', 'run://base'));
    d.set(run('other-ns', 'run://base', 'research'));
    expect([...d.of('ml', 'base')]).toEqual(['ml/ft-1', 'ml/ft-2']);
    expect([...d.of('research', 'base')]).toEqual(['research/other-ns']);
    expect([...d.of('ml', 'ft-1')]).toEqual([]);
    d.set(run('ft-1', 'run://base')); // an update with the same model changes nothing
    d.delete(run('ft-1', 'run://base'));
    expect([...d.of('ml', 'base')]).toEqual(['ml/ft-2']);
    d.delete(run('ft-2', 'run://base'));
    expect(d.of('ml', 'base').size).toBe(0);
  });
});
