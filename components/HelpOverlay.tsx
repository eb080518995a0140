/** Every key of the keymap table with what it does, the strategies behind keys 1-8, and where this velo's config and admin API are. */
import { Box, Text } from 'ink';
import { STRATEGY_NAMES } from '../src/balancing/registry.js';
import { bindingsIn, type KeyBinding, type KeyScope } from './keymap.js';
import { wrapText } from './wrap-text.js';

const KEY_WIDTH = 16;

const SCOPE_TITLES: ReadonlyArray<readonly [KeyScope, string]> = [
  ['add', 'adding a backend'],
  ['test', 'test requests (t)'],
  ['filter', 'filtering the access log (/)'],
  ['edit', 'editing any of the inputs'],
  ['confirm', 'removing a backend'],
  ['save', 'saving to the config file (w)'],
  ['quit', 'stop velo? (q)'],
  ['stopping', 'while velo stops'],
  ['picker', 'strategy picker (s)'],
  ['events', 'event view (e)'],
  ['help', 'in this help'],
];

type Line = { key: string; text: string; bold?: boolean; dim?: boolean };

function inline(bindings: readonly KeyBinding[]): string {
  return bindings.map((b) => `${b.display} ${b.label}`).join(' · ');
}

/** Where this velo reads its config and serves its admin API, for the overlay's first lines. */
export interface HelpPlaces {
  config: string;
  admin: string;
}

/** The overlay's text, one entry per line, before any cut to the available height. */
export function helpLines(width: number, places?: HelpPlaces): Line[] {
  const lines: Line[] = [{ key: 'title', text: 'keys (press ?, Esc or q to close)', bold: true }];
  if (places !== undefined) lines.push({ key: 'places', text: `  config ${places.config} · admin API ${places.admin}`, dim: true });
  // Long entries wrap onto indented lines rather than being cut.
  const add = (key: string, text: string, indent: number): void => {
    const [first = '', ...rest] = wrapText(text, width);
    lines.push({ key, text: first });
    const pad = ' '.repeat(Math.min(indent, Math.floor(width / 2)));
    wrapText(rest.map((l) => l.trim()).join(' '), width - pad.length).forEach((l, i) => rest.length > 0 && lines.push({ key: `${key}-${i}`, text: pad + l }));
  };
  for (const b of [...bindingsIn('main'), ...bindingsIn('any')]) add(b.action + b.display, `  ${b.display.padEnd(KEY_WIDTH)}${b.label}`, 2 + KEY_WIDTH);
  for (const [scope, title] of SCOPE_TITLES) add(scope, `  ${title}: ${inline(bindingsIn(scope))}`, 4);
  let current = '  strategies:';
  STRATEGY_NAMES.forEach((name, i) => {
    const item = ` ${i + 1} ${name}`;
    if (current.length + item.length > width && current.trim() !== '') {
      lines.push({ key: `s${i}`, text: current, dim: true });
      current = '   ';
    }
    current += item;
  });
  lines.push({ key: 'strategies', text: current, dim: true });
  return lines;
}

/** The space the overlay takes and the places to name. */
export interface HelpOverlayProps {
  height: number;
  width: number;
  places?: HelpPlaces;
}

/** Draws the help in exactly `height` lines; the last line says so when some had to be left out. */
export function HelpOverlay({ height, width, places }: HelpOverlayProps) {
  const all = helpLines(width, places);
  const cut = all.length <= height ? all : [...all.slice(0, Math.max(0, height - 1)), { key: 'more', text: '  … make the terminal taller to see every key', dim: true }];
  const lines = [...cut, ...Array.from({ length: Math.max(0, height - cut.length) }, (_, i) => ({ key: `blank-${i}`, text: ' ' }) as Line)];
  return (
    <Box flexDirection="column">
      {lines.slice(0, Math.max(0, height)).map((l) => (
        <Text key={l.key} wrap="truncate-end" bold={l.bold} dimColor={l.dim}>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
