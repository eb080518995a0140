/**
 * A `.json` config is JSON, not YAML that happens to look like it: the YAML parser accepts
 * trailing commas, comments and unquoted keys, so a `.json` file is checked with `JSON.parse`
 * first and its first syntax error reported with line and column.
 */
import type { ConfigIssue } from '../errors.js';

const HINT = 'a .json config must be strict JSON (no trailing commas, comments or unquoted keys)';

/** The 1-based line and column of `offset` in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** Offset of the first comma followed (after whitespace) by `]` or `}`, outside strings. */
function trailingComma(text: string): number | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === ',' && /^\s*[\]}]/.test(text.slice(i + 1, i + 200))) return i;
  }
  return undefined;
}

/** The syntax problem of `text` as strict JSON, or undefined when it parses. */
export function strictJsonIssue(text: string): ConfigIssue | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const comma = trailingComma(text);
    if (comma !== undefined) return { path: '(syntax)', ...position(text, comma), message: 'trailing comma', hint: HINT };
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const where = at !== null ? position(text, Number(at[1])) : text.trim() === '' ? { line: 1, column: 1 } : position(text, text.length);
    return { path: '(syntax)', ...where, message: message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*is not valid JSON$/, ''), hint: HINT };
  }
}
