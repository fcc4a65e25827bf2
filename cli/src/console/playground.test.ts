import { describe, expect, it } from 'vitest';
import { parseChatRequest } from './playground.js';

describe('playground requests', () => {
  it('takes a conversation with defaults for the sampling settings', () => {
    expect(parseChatRequest({ messages: [{ role: 'user', content: 'hi' }] })).toEqual({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 64, temperature: 0.7 });
    expect(parseChatRequest({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }], max_tokens: '8', temperature: 0 }).maxTokens).toBe(8);
  });

  it('names the field that is wrong', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /^messages: a list of 1 to 100/],
      [{ messages: [] }, /^messages: a list/],
      [{ messages: [{ role: 'tool', content: 'x' }] }, /^messages\[0\]\.role: one of system, user, assistant/],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'user' }] }, /^messages\[1\]\.content/],
      [{ messages: [{ role: 'user', content: 'a' }], max_tokens: 0 }, /^max_tokens: a whole number from 1 to 4096/],
      [{ messages: [{ role: 'user', content: 'a' }], max_tokens: 1.5 }, /^max_tokens/],
      [{ messages: [{ role: 'user', content: 'a' }], temperature: -1 }, /^temperature: a number from 0 to 2/],
      [{ messages: [{ role: 'user', content: 'a' }], temperature: 'hot' }, /^temperature/],
    ];
    for (const [body, message] of bad) expect(() => parseChatRequest(body), JSON.stringify(body)).toThrow(message);
  });
});
