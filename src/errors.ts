/**
 * velo's error catalogue: one `VeloError` with a stable `code`, subclasses only where a caller
 * branches on them, and one function (`httpStatusFor`) that turns any error into the status
 * velo answers with.
 */

export type VeloErrorCode =
  | 'E_CONFIG'
  | 'E_UPSTREAM_CONNECT'
  | 'E_UPSTREAM_TIMEOUT'
  | 'E_UPSTREAM_RESPONSE'
  | 'E_NO_AVAILABLE_UPSTREAM'
  | 'E_NO_ROUTE'
  | 'E_RATE_LIMITED'
  | 'E_FORBIDDEN'
  | 'E_CLIENT_ABORTED'
  | 'E_BAD_REQUEST'
  | 'E_CONFLICT'
  | 'E_NOT_FOUND';

export class VeloError extends Error {
  readonly code: VeloErrorCode;
  constructor(code: VeloErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found in a config file: where it is and what would be valid. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `pools[0].backends[1].url`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
  hint?: string;
}

/** Every problem of a config, collected; `message` lists them one per line. */
export class ConfigError extends VeloError {
  readonly issues: ConfigIssue[];
  readonly file?: string;
  constructor(issues: ConfigIssue[], file?: string) {
    super('E_CONFIG', formatConfigIssues(issues, file));
    this.issues = issues;
    this.file = file;
  }
}

export function formatConfigIssues(issues: ConfigIssue[], file?: string): string {
  const head = `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file ?? 'configuration'}:`;
  const lines = issues.map((i) => {
    const where = i.line !== undefined ? `${file ?? ''}:${i.line}:${i.column ?? 1} ` : '';
    return `  ${where}${i.path}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`;
  });
  return [head, ...lines].join('\n');
}

/** The backend refused or could not be reached before any byte was sent: safe to retry. */
export class UpstreamConnectError extends VeloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_UPSTREAM_CONNECT', message, options);
  }
}

/** The backend did not answer within the configured time. */
export class UpstreamTimeoutError extends VeloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_UPSTREAM_TIMEOUT', message, options);
  }
}

/** No backend may take the request: all unhealthy, open, draining, or the queue is full. */
export class NoAvailableUpstreamError extends VeloError {
  constructor(message = 'no backend available') {
    super('E_NO_AVAILABLE_UPSTREAM', message);
  }
}

/** The status velo answers with for an error raised while handling a request. */
export function httpStatusFor(err: unknown): number {
  if (!(err instanceof VeloError)) return 502;
  switch (err.code) {
    case 'E_UPSTREAM_TIMEOUT':
      return 504;
    case 'E_NO_AVAILABLE_UPSTREAM':
      return 503;
    case 'E_NO_ROUTE':
    case 'E_NOT_FOUND':
      return 404;
    case 'E_RATE_LIMITED':
      return 429;
    case 'E_FORBIDDEN':
      return 403;
    case 'E_BAD_REQUEST':
    case 'E_CONFIG':
      return 400;
    case 'E_CONFLICT':
      return 409;
    default:
      return 502;
  }
}
