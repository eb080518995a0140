/** Plain-text tables for the CLI: left-aligned columns, ANSI colour codes ignored in widths. */

const ANSI = /\x1b\[[0-9;]*m/g;

function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Rows as lines, columns padded to their widest cell and separated by two spaces. */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  '));
}

/** Wraps `text` in an ANSI colour when `enabled` (a TTY without NO_COLOR). */
export function colour(text: string, name: 'green' | 'red' | 'yellow' | 'dim', enabled: boolean): string {
  if (!enabled) return text;
  const code = { green: 32, red: 31, yellow: 33, dim: 2 }[name];
  return `\x1b[${code}m${text}\x1b[0m`;
}

/** True when stdout is a terminal and colour was not switched off with NO_COLOR. */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
}
