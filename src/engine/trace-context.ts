/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) at the proxy: the client's
 * `traceparent` is parsed strictly and velo takes the place of the caller for the backend. The
 * trace-id and the flags go on unchanged, the parent-id becomes velo's own span-id, and
 * `tracestate` passes untouched. A missing or invalid `traceparent` starts a new trace
 * (section 4.2 "No traceparent received", 4.3 "a traceparent is received": "if the traceparent
 * header is not valid, restart the trace").
 */
import { randomFillSync } from 'node:crypto';

/** A parsed `traceparent`: lower-case hex strings, as on the wire. */
export interface TraceParent {
  /** 2 hex digits; `ff` is never valid. */
  version: string;
  /** 32 hex digits, not all zero. */
  traceId: string;
  /** 16 hex digits, not all zero: the caller's span. */
  parentId: string;
  /** 2 hex digits; bit 0 is `sampled` (section 3.2.2.5). */
  flags: string;
}

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** A later version: the four fields of version 00, then the end or a dash (section 3.2.4 "Versioning of traceparent"). */
const LATER_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * The fields of a `traceparent` header value, or undefined when it is absent or not valid:
 * not lower-case hex, an all-zero trace-id or parent-id, version `ff`, a version 00 value that
 * is not exactly 55 characters, or several values (Node joins repeated headers with `, `).
 * A version above 00 is read by its first four fields (section 3.2.4); velo then writes 00.
 */
export function parseTraceparent(value: string | string[] | undefined): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const m = VERSION_00.exec(value) ?? LATER_VERSION.exec(value);
  if (m === null) return undefined;
  const [version, traceId, parentId, flags] = m.length === 4 ? ['00', m[1]!, m[2]!, m[3]!] : [m[1]!, m[2]!, m[3]!, m[4]!];
  if (version === 'ff' || (version === '00' && value.length !== 55)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { version, traceId, parentId, flags };
}

/** `00-<traceId>-<spanId>-<flags>`. */
export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

/**
 * Flags of a trace velo starts: `01`, sampled. velo records no spans itself, but backends with
 * OpenTelemetry's default parent-based sampler drop a trace whose parent says "not sampled",
 * and the point of the trace-id is to find the backend's spans from the access log.
 */
export const NEW_TRACE_FLAGS = '01';

/** What velo does with one request's trace: the trace-id to log and the `traceparent` to send upstream. */
export interface RequestTrace {
  /** 32 hex; the caller's when its `traceparent` was valid, else a new one. */
  traceId: string;
  /** The value sent upstream: velo's span as the parent. */
  traceparent: string;
  /** False when the trace was (re)started: the client's `tracestate` belongs to no valid trace and is dropped. */
  continued: boolean;
}

/** Fills a buffer with random bytes (`crypto.randomFillSync`; tests inject a fixed source). */
export type FillRandom = (buffer: Buffer) => void;

/** Random bytes fetched this many at a time, so a request costs a slice rather than a system call. */
const POOL_BYTES = 4096;

/**
 * New trace-ids (16 random bytes) and span-ids (8), as lower-case hex, never all zero
 * (section 3.2.2.3 and 3.2.2.4: such ids are invalid). Bytes come from `fill` in blocks.
 */
export class TraceIds {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private used = POOL_BYTES;

  constructor(private readonly fill: FillRandom = randomFillSync) {}

  /** 32 hex digits. */
  traceId(): string {
    return this.hex(16);
  }

  /** 16 hex digits. */
  spanId(): string {
    return this.hex(8);
  }

  private hex(bytes: number): string {
    for (;;) {
      if (this.used + bytes > POOL_BYTES) {
        this.fill(this.pool);
        this.used = 0;
      }
      const id = this.pool.toString('hex', this.used, this.used + bytes);
      this.used += bytes;
      if (!/^0+$/.test(id)) return id;
    }
  }

  /**
   * The trace of a request whose `traceparent` header is `header`: the caller's trace-id and
   * flags with velo's new span-id as the parent, or a new trace. One span per request: every
   * attempt (retries too) carries the same value.
   */
  forRequest(header: string | string[] | undefined): RequestTrace {
    const parent = parseTraceparent(header);
    const traceId = parent?.traceId ?? this.traceId();
    return { traceId, traceparent: formatTraceparent(traceId, this.spanId(), parent?.flags ?? NEW_TRACE_FLAGS), continued: parent !== undefined };
  }
}
