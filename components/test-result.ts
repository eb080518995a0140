/** The `t` key's words: the count typed before sending, and the one-line summary of what came back. */
import { formatMs } from './format-units.js';
import type { TestRequestsResult } from './store.js';

/** How many test requests `t` offers to send. */
export const DEFAULT_TEST_REQUESTS = 100;
/** The most one press may send (src/cli/test-requests.ts checks it again). */
export const MAX_TEST_REQUESTS = 100_000;

/** The typed count, or why it is not one. */
export function parseTestCount(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= 1 && value <= MAX_TEST_REQUESTS)) return { ok: false, error: `type a whole number from 1 to ${MAX_TEST_REQUESTS}, got "${trimmed}"` };
  return { ok: true, value };
}

/** `n word` with the word in the plural unless n is 1: `1 pool`, `3 pools`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** One line: requests and time, then per backend, per status code (and errors), then p50/p99. */
export function formatTestResult(r: TestRequestsResult): string {
  const parts = [`${plural(r.sent, 'test request')} in ${(r.elapsedMs / 1000).toFixed(1)}s`];
  if (r.backends.length > 0) parts.push(r.backends.map(([name, n]) => `${name} ${n}`).join(' · '));
  const codes = [...r.codes.map(([code, n]) => `${code}×${n}`), ...r.errors.map(([code, n]) => `${code}×${n}`)];
  if (codes.length > 0) parts.push(codes.join(' '));
  parts.push(`p50 ${formatMs(r.p50Ms)}ms · p99 ${formatMs(r.p99Ms)}ms`);
  return parts.join(' │ ');
}
