/** Reads the add-backend input, `URL [weight]`, and says what is wrong with it in words fit to show inline. */
import { backendUrlProblem } from '../src/config/backend-url.js';
import { MAX_WEIGHT } from '../src/engine/control.js';

/** A valid add request, or the reason the text is not one. */
export type AddInput = { ok: true; url: string; weight?: number } | { ok: false; error: string };

/** Splits `text` into a backend URL and an optional whole-number weight, validating both. */
export function parseAddInput(text: string): AddInput {
  const parts = text.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, error: 'type a backend URL, e.g. http://127.0.0.1:8081, then Enter' };
  if (parts.length > 2) return { ok: false, error: `expected "URL [weight]", got ${parts.length} words` };
  const [url, rawWeight] = parts as [string, string | undefined];
  const problem = backendUrlProblem(url);
  if (problem !== undefined) return { ok: false, error: `${problem.message}: ${problem.hint}` };
  if (rawWeight === undefined) return { ok: true, url };
  const weight = /^\d+$/.test(rawWeight) ? Number(rawWeight) : NaN;
  if (!(weight >= 1 && weight <= MAX_WEIGHT)) return { ok: false, error: `weight must be a whole number from 1 to ${MAX_WEIGHT}, got "${rawWeight}"` };
  return { ok: true, url, weight };
}
