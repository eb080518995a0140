/**
 * The figures the reliability suite measures, written to docs/reliability.md when
 * `VELO_WRITE_FIGURES=1`. Each test file records its own section; the figures of every section
 * are kept as JSON in a comment at the end of the page, so files (which ava runs one at a
 * time in separate processes) merge into one page instead of overwriting each other.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const PAGE = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url));
const MARK = '<!-- figures ';

export const WRITE_FIGURES = process.env.VELO_WRITE_FIGURES === '1';

export type Figure = string | number | boolean;

interface Section {
  title: string;
  measuredAt: string;
  rows: Array<[string, Figure]>;
}

interface Store {
  machine: string;
  node: string;
  sections: Record<string, Section>;
}

function machine(): string {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  return `${list.length} x ${model}, ${Math.round(totalmem() / 1024 ** 3)} GiB RAM, ${process.platform} ${process.arch}`;
}

function readStore(): Store {
  const empty: Store = { machine: machine(), node: process.version, sections: {} };
  if (!existsSync(PAGE)) return empty;
  const text = readFileSync(PAGE, 'utf8');
  const at = text.lastIndexOf(MARK);
  if (at < 0) return empty;
  try {
    const json = text.slice(at + MARK.length, text.indexOf(' -->', at));
    return { ...empty, sections: (JSON.parse(json) as Store).sections ?? {} };
  } catch {
    return empty;
  }
}

const ORDER = ['hostile', 'slowloris', 'idle', 'transfer', 'reload', 'signals', 'admin-fuzz', 'soak'];

function render(store: Store): string {
  const keys = Object.keys(store.sections).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  const out = [
    '# Reliability figures',
    '',
    'Measured by `npm run test:reliability` (test/reliability/) with `VELO_WRITE_FIGURES=1`: velo runs',
    'as a child process (`velo start --headless`) on 127.0.0.1, its file descriptors counted in',
    '`/proc/<pid>/fd` and its memory read from `/proc/<pid>/status` (VmRSS now, VmHWM peak).',
    'Every loop in the suite is bounded in count and time; `VELO_SOAK_MS` (default 30 s) or',
    '`VELO_FULL=1` (3 min) sets the soak length. Regenerate with',
    '`VELO_WRITE_FIGURES=1 npm run test:reliability`; the machine is noisy, compare within one run.',
    '',
    `Machine: ${store.machine}; node ${store.node}.`,
    '',
  ];
  for (const key of keys) {
    const s = store.sections[key]!;
    out.push(`## ${s.title}`, '', `Measured ${s.measuredAt}.`, '', '| figure | value |', '| --- | --- |');
    for (const [name, value] of s.rows) out.push(`| ${name} | ${String(value)} |`);
    out.push('');
  }
  out.push(`${MARK}${JSON.stringify({ sections: store.sections })} -->`, '');
  return out.join('\n');
}

/** Records one section's figures (replacing the previous run's) when VELO_WRITE_FIGURES=1. */
export function recordFigures(key: string, title: string, rows: Array<[string, Figure]>): void {
  if (!WRITE_FIGURES || rows.length === 0) return;
  const store = readStore();
  store.sections[key] = { title, measuredAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), rows };
  writeFileSync(PAGE, render(store));
}
