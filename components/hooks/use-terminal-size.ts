/** The terminal's size, read at each render and re-rendered on resize. */
import { useStdout } from 'ink';
import { useEffect, useReducer } from 'react';

/** A terminal size in character cells. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Columns and rows of Ink's stdout (80x24 when unknown); the component re-renders when the terminal is resized. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const onResize = (): void => rerender();
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return { columns: stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows > 0 ? stdout.rows : 24 };
}
