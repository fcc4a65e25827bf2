// Structured logging: one JSON object per line on stdout, so log pipelines (CloudWatch, Loki) can
// index fields without parsing free text. Kept dependency-free on purpose: the operator logs a few
// lines per reconcile, so a logging framework would cost more (startup, RSS) than it gives.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. {controller: 'trainingrun', key}). */
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export interface LogStream {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Defaults to LATHE_LOG_LEVEL, then 'info'. */
  level?: LogLevel;
  /** Defaults to process.stdout. */
  stream?: LogStream;
  base?: LogFields;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(LEVELS, value);
}

/** Reads LATHE_LOG_LEVEL; an unknown value falls back to 'info' rather than failing startup. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env.LATHE_LOG_LEVEL?.trim().toLowerCase();
  return isLogLevel(raw) ? raw : 'info';
}

/** Errors have non-enumerable message/stack, so JSON.stringify would print `{}` without this. */
export function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (err.stack) out.stack = err.stack;
  // Kubernetes client errors carry the HTTP status as `code` / `statusCode`; keep it.
  for (const k of ['code', 'statusCode', 'reason'] as const) {
    const v = (err as unknown as Record<string, unknown>)[k];
    if (v !== undefined && (typeof v === 'string' || typeof v === 'number')) out[k] = v;
  }
  if (err.cause !== undefined && depth < 3) {
    out.cause = err.cause instanceof Error ? serializeError(err.cause, depth + 1) : err.cause;
  }
  return out;
}

function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  // A field that accidentally holds a cyclic object must not turn a log call into an exception.
  const seen = new WeakSet<object>();
  return function (_key, value) {
    if (value instanceof Error) return serializeError(value);
    if (typeof value === 'bigint') return value.toString();
    if (value !== null && typeof value === 'object') {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

class JsonLogger implements Logger {
  constructor(
    readonly level: LogLevel,
    private readonly stream: LogStream,
    private readonly base: LogFields,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.level, this.stream, { ...this.base, ...fields });
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    // ts/level/msg come first for human readers and cannot be overridden by fields.
    const record = { ts: new Date().toISOString(), level, msg, ...this.base, ...fields };
    record.ts = new Date().toISOString();
    record.level = level;
    record.msg = msg;
    let line: string;
    try {
      line = JSON.stringify(record, replacer());
    } catch (err) {
      line = JSON.stringify({ ts: record.ts, level, msg, logError: String(err) });
    }
    this.stream.write(line + '\n');
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLogger(options.level ?? logLevelFromEnv(), options.stream ?? process.stdout, options.base ?? {});
}

/** A logger that drops everything; for tests that do not assert on logs. */
export function silentLogger(): Logger {
  return createLogger({ level: 'error', stream: { write: () => true } });
}
