import { describe, expect, it } from 'vitest';
import { makeInferenceService, makeTrainingRun } from '../../test/support/builders.js';
import type { Session } from './session.js';
import { parseTimeout, runProgressLine, serviceProgressLine, waitForRun } from './wait.js';

describe('--wait', () => {
  it('says what a run and a service report, in one line', () => {
    expect(runProgressLine(makeTrainingRun('r').status({ phase: 'Running', progress: { summary: '2/3', step: 40, totalSteps: 60, loss: 0.41234 } }).obj())).toBe('Running, epoch 2/3, step 40/60 (66%), loss 0.4123');
    expect(runProgressLine(makeTrainingRun('r').status({ phase: 'Pending', message: '0/3 nodes have nvidia.com/gpu' }).obj())).toBe('Pending, 0/3 nodes have nvidia.com/gpu');
    expect(runProgressLine(makeTrainingRun('r').obj())).toBe('Pending');
    const loading = makeInferenceService('s').status({ replicas: 1, readyReplicas: 0, conditions: [{ type: 'Ready', status: 'False', reason: 'ModelLoading', message: 'downloading 3 files', lastTransitionTime: '2026-12-02T10:00:00Z' }] }).obj();
    expect(serviceProgressLine(loading)).toBe('ModelLoading, 0/1 ready: downloading 3 files');
  });

  it('reads durations', () => {
    expect(parseTimeout('90s', 1)).toBe(90_000);
    expect(parseTimeout('15m', 1)).toBe(900_000);
    expect(parseTimeout('2h', 1)).toBe(7_200_000);
    expect(parseTimeout('30', 1)).toBe(30_000);
    expect(parseTimeout(undefined, 5)).toBe(5);
    expect(() => parseTimeout('soon', 1)).toThrow(/--timeout must be a duration like 90s, 15m or 2h, got "soon"/);
  });

  // The polling against a scripted sequence of objects (the real API server's side is in
  // test/real/plugin.test.ts): a line per change, not per poll, and Failed as an error.
  const scripted = (phases: string[]) => {
    let i = 0;
    return { find: () => Promise.resolve(makeTrainingRun('r').status({ phase: phases[Math.min(i++, phases.length - 1)] as 'Running', progress: { summary: '1/3' } }).obj()) } as unknown as Session;
  };

  it('prints a line each time the run changes and returns once it Succeeded', async () => {
    const lines: string[] = [];
    const run = await waitForRun(scripted(['Pending', 'Running', 'Running', 'Succeeded']), { namespace: 'ml', name: 'r', timeoutMs: 10_000, progress: (l) => lines.push(l), pollMs: 1 });
    expect(run.status?.phase).toBe('Succeeded');
    expect(lines).toEqual(['Pending, epoch 1/3', 'Running, epoch 1/3', 'Succeeded, epoch 1/3']);
  });

  it('fails with the run\'s message when it Failed, and names a run that is not there or too slow', async () => {
    await expect(waitForRun(scripted(['Running', 'Failed']), { namespace: 'ml', name: 'r', timeoutMs: 10_000, progress: () => undefined, pollMs: 1 })).rejects.toThrow(/^TrainingRun r Failed: /);
    const none = { find: () => Promise.resolve(undefined) } as unknown as Session;
    await expect(waitForRun(none, { namespace: 'ml', name: 'r', timeoutMs: 10, progress: () => undefined, pollMs: 1 })).rejects.toThrow('no TrainingRun r in namespace ml');
    await expect(waitForRun(scripted(['Running']), { namespace: 'ml', name: 'r', timeoutMs: 5, progress: () => undefined, pollMs: 2 })).rejects.toThrow(/^TrainingRun r is still not done after 0 s \(Running, epoch 1\/3\)/);
  });
});
