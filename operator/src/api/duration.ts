// Go-style durations as the API accepts them: `90m`, `2h`, `1h30m`, `45s`, `1h0m30s`.
//
// The admission rule (a CEL rule in the CRD, built from DURATION_PATTERN in common.ts) and this
// parser accept exactly the same strings; duration.test.ts and the admission integration test run
// both over DURATION_EXAMPLES. Deliberately narrower than Go's time.ParseDuration: whole numbers
// only, units h, m and s, each at most once and in that order, and the total must be positive.
// That keeps every accepted value a whole number of seconds (what activeDeadlineSeconds and
// ttlSecondsAfterFinished take) and bounded (at most 99999h, about 11 years).

/** One to three components: hours, minutes, seconds, in that order. Matches the empty string too. */
export const DURATION_PATTERN = /^([0-9]{1,5}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$/;

/** Seconds of a duration, or `undefined` when the string is not a valid positive duration. */
export function parseDurationSeconds(value: string): number | undefined {
  if (value.length > 32) return undefined;
  const m = DURATION_PATTERN.exec(value);
  if (m === null) return undefined;
  const [, h, min, s] = m;
  const seconds = num(h) * 3600 + num(min) * 60 + num(s);
  return seconds > 0 ? seconds : undefined;
}

/** Like parseDurationSeconds, but throws with a message naming the field. */
export function durationSeconds(value: string, field = 'duration'): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    throw new Error(`${field}: ${JSON.stringify(value)} is not a positive duration such as 90m, 2h or 1h30m`);
  }
  return seconds;
}

export function isValidDuration(value: string): boolean {
  return parseDurationSeconds(value) !== undefined;
}

/** Renders seconds back into the canonical form (`5400` -> `1h30m`). */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`not a positive whole number of seconds: ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

function num(part: string | undefined): number {
  return part === undefined ? 0 : Number.parseInt(part.slice(0, -1), 10);
}

/**
 * The shared table of good and bad durations: the unit test checks the parser against it and the
 * admission integration test checks the API server (spec.maxRuntime) against it.
 */
export const DURATION_EXAMPLES: { valid: ReadonlyArray<[string, number]>; invalid: readonly string[] } = {
  valid: [
    ['90m', 5400],
    ['2h', 7200],
    ['1h30m', 5400],
    ['45s', 45],
    ['1h0m30s', 3630],
    ['0h1m', 60],
    ['99999h', 359_996_400],
    ['1m1s', 61],
  ],
  invalid: ['', '0s', '0h0m0s', '90', 'h', '1.5h', '-1h', '1d', '30m1h', '1h 30m', '2H', '1ms', '100000h', 'PT1H', '1h1h'],
};
