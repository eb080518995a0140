/**
 * The `s` picker: every strategy in a list (@inkjs/ui's Select); arrows move, Enter applies the
 * one under the cursor, Esc (in the keymap) leaves the strategy as it was. Nothing is applied
 * while moving.
 */
import { Select, ThemeProvider, defaultTheme, extendTheme } from '@inkjs/ui';
import { Box, Text } from 'ink';
import { useContext, useMemo } from 'react';
import { STRATEGY_NAMES } from '../src/balancing/registry.js';
import { ColorContext, useTint } from './palette.js';

// Under NO_COLOR the pointer (❯) and bold mark the option under the cursor.
const PLAIN_THEME = extendTheme(defaultTheme, {
  components: {
    Select: {
      styles: {
        focusIndicator: () => ({}),
        selectedIndicator: () => ({}),
        label: ({ isFocused }: { isFocused: boolean }) => ({ bold: isFocused }),
      },
    },
  },
});

/** The pool, its strategy now, what to call with the choice, and the lines the picker may take. */
export interface StrategyPickerProps {
  pool: string;
  current: string;
  onChoose(name: string): void;
  /** Lines including the title; the picker always takes exactly this many. */
  height: number;
}

/** A title, then the strategies numbered as keys 1-8 pick them, the current one marked; padded to `height` lines. */
export function StrategyPicker({ pool, current, onChoose, height }: StrategyPickerProps) {
  const tint = useTint();
  const color = useContext(ColorContext);
  const options = useMemo(
    () => STRATEGY_NAMES.map((name, i) => ({ value: name, label: `${i + 1} ${name}${name === current ? '  (current)' : ''}` })),
    [current],
  );
  const visible = Math.max(1, Math.min(options.length, height - 1));
  const select = <Select options={options} visibleOptionCount={visible} onChange={onChoose} />;
  return (
    <Box flexDirection="column" height={Math.max(1, height)}>
      <Text wrap="truncate-end" bold color={tint('cyan')}>
        {`strategy for pool ${pool}: ↑↓ choose, Enter applies, Esc leaves it ${current}`}
      </Text>
      {height > 1 ? !color ? <ThemeProvider theme={PLAIN_THEME}>{select}</ThemeProvider> : select : null}
    </Box>
  );
}
