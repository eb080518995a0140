/**
 * Puts the dashboard on the terminal: the alternate screen (the shell's screen comes back on
 * quit), at most 10 frames a second, Ctrl-C handled by the keymap (the stop rule) rather than by Ink.
 */
import { render } from 'ink';
import { App, type AppProps } from './App.js';

const ENTER_ALTERNATE_SCREEN = '\u001B[?1049h\u001B[H';
const LEAVE_ALTERNATE_SCREEN = '\u001B[?1049l';

/** A mounted dashboard. */
export interface DashboardHandle {
  /** Resolves when `unmount` is called (velo has stopped, or the terminal went away); rejects if rendering failed. */
  waitUntilExit(): Promise<void>;
  unmount(): void;
}

/** Renders `App` on `stdout` (a TTY) reading keys from `stdin`; throws if Ink cannot start. */
export function mountDashboard(props: AppProps, stdout: NodeJS.WriteStream = process.stdout, stdin: NodeJS.ReadStream = process.stdin): DashboardHandle {
  stdout.write(ENTER_ALTERNATE_SCREEN);
  let instance: ReturnType<typeof render>;
  try {
    instance = render(<App {...props} />, { stdout, stdin, maxFps: 10, exitOnCtrlC: false, patchConsole: true });
  } catch (err) {
    stdout.write(LEAVE_ALTERNATE_SCREEN);
    throw err;
  }
  const exited = instance.waitUntilExit().finally(() => stdout.write(LEAVE_ALTERNATE_SCREEN));
  return {
    waitUntilExit: () => exited.then(() => undefined),
    unmount: () => instance.unmount(),
  };
}
