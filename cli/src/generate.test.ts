import { describe, expect, it } from 'vitest';
import { makeInferenceService } from '../../test/support/builders.js';
import { checkServable, chunkText, readEvents } from './generate.js';

const ready = { conditions: [{ type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'serving', lastTransitionTime: '2026-12-02T00:00:00Z' }] };

describe('generate', () => {
  it('refuses a service that is not Ready, with its reason and what to look at', () => {
    const svc = makeInferenceService('writer').status({ conditions: [{ type: 'Ready', status: 'False', reason: 'ModelLoading', message: '0/1 pods ready', lastTransitionTime: '2026-12-02T00:00:00Z' }] }).obj();
    expect(() => checkServable(svc, false)).toThrow('InferenceService writer is not Ready (ModelLoading: 0/1 pods ready)');
    expect(() => checkServable(makeInferenceService('new').obj(), false)).toThrow(/not Ready \(no status yet\)/);
  });

  it('matches --image to the task', () => {
    const text = makeInferenceService('writer').status(ready).obj();
    expect(() => checkServable(text, false)).not.toThrow();
    expect(() => checkServable(text, true)).toThrow(/serves text-generation, not images/);
    const images = makeInferenceService('painter').status(ready).obj();
    images.spec.task = 'text-to-image';
    expect(() => checkServable(images, false)).toThrow('InferenceService painter generates images');
  });

  it('reads the text of completion and chat chunks, and stops at [DONE]', () => {
    expect(chunkText('{"choices":[{"text":"the"}]}')).toBe('the');
    expect(chunkText('{"choices":[{"delta":{"content":" cat"}}]}')).toBe(' cat');
    expect(chunkText('[DONE]')).toBeUndefined();
    expect(() => chunkText('{"error":{"message":"queue timeout"}}')).toThrow(/queue timeout/);
  });

  it('splits a server-sent event stream however its bytes arrive', async () => {
    const bytes = new TextEncoder().encode('data: {"a":1}\n\ndata: [DONE]\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.slice(i, i + 5));
        c.close();
      },
    });
    const seen: string[] = [];
    await readEvents(body, (d) => seen.push(d));
    expect(seen).toEqual(['{"a":1}', '[DONE]']);
  });
});
