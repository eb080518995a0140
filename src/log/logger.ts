/**
 * Structured logging: one JSON object per line (`time`, `level`, `msg`, fields). The sink is
 * swappable so the dashboard can take logs into its own pane instead of the terminal.
 */
import type { LogLevel } from '../config/types.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogSink = (line: string, level: Exclude<LogLevel, 'silent'>) => void;

export const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

export class Logger {
  constructor(
    public level: LogLevel = 'info',
    public sink: LogSink = stderrSink,
    private readonly wallClock: () => number = Date.now,
  ) {}

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= RANK[this.level];
  }

  private write(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const record = { time: new Date(this.wallClock()).toISOString(), level, msg, ...fields };
    try {
      this.sink(JSON.stringify(record, errorReplacer), level);
    } catch {
      // A broken sink (closed pipe, unmounted UI) must never take the proxy down.
    }
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: string }).code };
  return value;
}
