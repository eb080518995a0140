/**
 * The access log: one line per finished request (JSON, logfmt or nginx's combined format,
 * access-line-formats.ts), written to stdout or appended to a file.
 * Lines are batched and written after the request has been answered; a slow or broken sink
 * drops lines (bounded memory) or switches the log off, and never blocks or crashes the proxy.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { AccessLogConfig } from '../config/types.js';
import type { RequestRecord } from '../engine/request-record.js';
import type { Logger } from '../log/logger.js';
import { accessLineFormatter, formatAccessLine } from './access-line-formats.js';

export { formatAccessLine };

/** Lines held while the sink applies backpressure; beyond this they are dropped and counted. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** A batch this large is written at once instead of waiting for the next turn of the event loop. */
const FLUSH_BYTES = 64 * 1024;

/** A running access log: `observe` goes into `engine.observers`; `close()` flushes and ends it. */
export class AccessLog {
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private blocked = false;
  private disabled = false;
  private dropped = 0;
  private readonly onError = (err: Error): void => this.disable(err);
  private readonly onDrain = (): void => {
    this.blocked = false;
    this.flush();
  };

  constructor(
    private readonly out: Writable,
    private readonly logger: Logger,
    private readonly ownsStream: boolean,
    readonly target: string,
    private readonly format: (record: RequestRecord) => string = formatAccessLine,
  ) {
    out.on('error', this.onError);
    out.on('drain', this.onDrain);
  }

  /** Queues one line; O(1) on the request path, the write happens on a later tick. */
  readonly observe = (record: RequestRecord): void => {
    if (this.disabled) return;
    const line = this.format(record) + '\n';
    if (this.pendingBytes + line.length > MAX_PENDING_BYTES) {
      if (this.dropped === 0) this.logger.warn('access log cannot keep up; dropping lines', { target: this.target });
      this.dropped += 1;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  };

  /** Lines dropped because the sink could not keep up. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Writes what is pending, then ends the stream when this log opened it (a file). */
  async close(): Promise<void> {
    this.flush();
    this.disabled = true;
    this.out.off('drain', this.onDrain);
    if (this.dropped > 0) this.logger.warn('access log dropped lines', { target: this.target, dropped: this.dropped });
    if (!this.ownsStream) {
      this.out.off('error', this.onError);
      return;
    }
    await new Promise<void>((resolve) => {
      this.out.end(() => resolve());
      this.out.once('error', () => resolve());
    });
  }

  private flush(): void {
    if (this.disabled || this.blocked || this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    try {
      if (!this.out.write(chunk)) this.blocked = true;
    } catch (err) {
      this.disable(err as Error);
    }
  }

  private disable(err: Error): void {
    if (this.disabled) return;
    this.disabled = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.logger.error('access log disabled after a write error', { target: this.target, err });
  }
}

/**
 * Opens the access log `config` asks for (stdout, or a file opened for appending, in its
 * `format`), or returns
 * undefined when it is switched off. `stdout` may be replaced (tests).
 */
export function createAccessLog(config: AccessLogConfig, logger: Logger, stdout: Writable = process.stdout): AccessLog | undefined {
  if (!config.enabled) return undefined;
  const format = accessLineFormatter(config.format);
  if (config.target === 'stdout' || config.target === '-') return new AccessLog(stdout, logger, false, 'stdout', format);
  const file = createWriteStream(config.target, { flags: 'a' });
  return new AccessLog(file, logger, true, config.target, format);
}
