/**
 * Whether the dashboard uses colour. With `NO_COLOR` set (https://no-color.org) every colour is
 * left out and the words carry the meaning alone (states, levels, ✓/✗); bold, dim and inverse stay.
 */
import { createContext, useContext } from 'react';

/** True when colours are drawn; provided by `App` from its `color` prop. */
export const ColorContext = createContext(true);

/** False when the `NO_COLOR` environment variable is set to anything but the empty string. */
export function colorWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.NO_COLOR ?? '') === '';
}

/** A function that returns the colour given, or undefined when colours are off. */
export function useTint(): (color: string | undefined) => string | undefined {
  const enabled = useContext(ColorContext);
  return enabled ? (color) => color : () => undefined;
}
