/** Process exit codes of every velo command, in one place so scripts can rely on them. */
export const ExitCode = {
  /** Success, or a graceful shutdown. */
  Ok: 0,
  /** The command ran and found a failure (unhealthy pool, failed requests). */
  Failure: 1,
  /** Bad arguments or an invalid config file. */
  Usage: 2,
  /** The running instance could not be reached or refused us (admin API). */
  Unreachable: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
