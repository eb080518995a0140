/** The one error type of the CLI helpers: a message for one `velo: ...` line and its exit code. */
import type { ExitCode } from './exit-codes.js';

/** A failure to report in one line, and the exit code that goes with it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The admin API's error body, when there was one (reload issues are listed from it). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
