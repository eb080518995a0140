/**
 * Durations as operators write them (`250ms`, `5s`, `1m30s`, `1.5s`) to and from milliseconds.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const UNIT_ORDER = ['h', 'm', 's', 'ms'];
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;
const COMPONENT = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Milliseconds (rounded to a whole number) for a duration string or a plain number of ms;
 * undefined for anything negative, non-finite, empty, or not built from `<n>ms|s|m|h`
 * components in descending unit order.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  }
  const s = input.trim();
  if (s === '') return undefined;
  if (PLAIN_NUMBER.test(s)) return Math.round(Number(s));
  let total = 0;
  let lastUnit = -1;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < s.length) {
    const m = COMPONENT.exec(s);
    if (m === null) return undefined;
    const unit = UNIT_ORDER.indexOf(m[2]!);
    // `30s1m` or `1s1s` is more likely a typo than a duration; refuse it.
    if (unit <= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** The shortest `parseDuration`-compatible string for `ms`, e.g. `250ms`, `5s`, `1m30s`, `1.5s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  const whole = Math.round(ms);
  if (whole < 1000) return `${whole}ms`;
  const h = Math.floor(whole / 3_600_000);
  const m = Math.floor((whole % 3_600_000) / 60_000);
  const rest = whole % 60_000;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}

const DAY_MS = 86_400_000;

/**
 * Like `parseDuration`, and also days for long spans (retention, `velo logs --since`): `7d`,
 * `1d12h`, `36h`, `10m`. Milliseconds, or undefined when `input` is not a duration.
 */
export function parseSpan(input: string | number): number | undefined {
  if (typeof input === 'number') return parseDuration(input);
  const m = /^\s*(\d+(?:\.\d+)?)d(.*)$/.exec(input);
  if (m === null) return parseDuration(input);
  const rest = m[2]!.trim() === '' ? 0 : parseDuration(m[2]!);
  return rest === undefined || PLAIN_NUMBER.test(m[2]!.trim()) ? undefined : Math.round(Number(m[1]) * DAY_MS) + rest;
}
