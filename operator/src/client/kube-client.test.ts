import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { escapeYamlBreaks } from './kube-client.js';

describe('escapeYamlBreaks', () => {
  it('keeps NEL, LINE and PARAGRAPH SEPARATOR through a YAML reader, in keys and values', () => {
    const body = { metadata: { annotations: { 'a\u2028b': 'line\u0085two', c: 'x\u2029y' } } };
    const raw = JSON.stringify(body);
    // The API server's YAML 1.1 reader takes the raw characters for line breaks (test/fuzz shows it
    // on the real server); escaped, no reader sees them, and both JSON and YAML read the same object.
    const escaped = escapeYamlBreaks(raw);
    expect(escaped).not.toMatch(/[\u0085\u2028\u2029]/);
    expect(parse(escaped)).toEqual(body);
    expect(JSON.parse(escaped)).toEqual(body);
  });
});
