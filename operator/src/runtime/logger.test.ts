import { describe, expect, it } from 'vitest';
import { createLogger, logLevelFromEnv } from './logger.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: { write: (s: string) => boolean } } {
  const chunks: string[] = [];
  return {
    stream: { write: (s: string) => chunks.push(s) > 0 },
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes one JSON object per line with ts, level, msg and fields', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', stream: out.stream, base: { app: 'lathe' } });
    log.info('hello', { key: 'ns/a' });
    log.debug('dbg');
    const [first, second] = out.lines();
    expect(first).toMatchObject({ level: 'info', msg: 'hello', app: 'lathe', key: 'ns/a' });
    expect(new Date(first!.ts as string).toISOString()).toBe(first!.ts);
    expect(Object.keys(first!).slice(0, 3)).toEqual(['ts', 'level', 'msg']);
    expect(second).toMatchObject({ level: 'debug', msg: 'dbg' });
  });

  it('drops lines below its level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', stream: out.stream });
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(out.lines().map((l) => l.msg)).toEqual(['c', 'd']);
  });

  it('serializes errors with message and stack, including causes', () => {
    const out = capture();
    const log = createLogger({ level: 'info', stream: out.stream });
    const err = new Error('outer', { cause: new Error('inner') });
    log.error('failed', { err });
    const line = out.lines()[0]!;
    const e = line.err as Record<string, unknown>;
    expect(e.message).toBe('outer');
    expect(String(e.stack)).toContain('outer');
    expect((e.cause as Record<string, unknown>).message).toBe('inner');
  });

  it('child loggers add fields; reserved keys cannot be overridden', () => {
    const out = capture();
    const log = createLogger({ level: 'info', stream: out.stream }).child({ controller: 'trainingrun' });
    log.child({ key: 'ns/x' }).info('real', { msg: 'fake', level: 'error' });
    expect(out.lines()[0]).toMatchObject({ controller: 'trainingrun', key: 'ns/x', msg: 'real', level: 'info' });
  });

  it('survives circular and bigint fields', () => {
    const out = capture();
    const log = createLogger({ level: 'info', stream: out.stream });
    const a: Record<string, unknown> = { n: 1n };
    a.self = a;
    log.info('x', { a });
    expect(out.lines()[0]!.a).toEqual({ n: '1', self: '[Circular]' });
  });

  it('reads LATHE_LOG_LEVEL, defaulting to info', () => {
    expect(logLevelFromEnv({ LATHE_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelFromEnv({ LATHE_LOG_LEVEL: 'verbose' })).toBe('info');
    expect(logLevelFromEnv({})).toBe('info');
    const out = capture();
    const prev = process.env.LATHE_LOG_LEVEL;
    process.env.LATHE_LOG_LEVEL = 'error';
    try {
      const log = createLogger({ stream: out.stream });
      log.warn('no');
      log.error('yes');
    } finally {
      if (prev === undefined) delete process.env.LATHE_LOG_LEVEL;
      else process.env.LATHE_LOG_LEVEL = prev;
    }
    expect(out.lines().map((l) => l.msg)).toEqual(['yes']);
  });
});
