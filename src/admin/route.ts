/**
 * What an admin route is: a path pattern (`/api/pools/:pool`) and one handler per method.
 * Handlers return a reply or throw (`AdminHttpError` or a `VeloError`); the server turns both
 * into JSON and never lets a handler take the process down.
 */
import type { Control } from '../engine/control.js';
import type { Engine } from '../engine/engine.js';
import type { EngineSnapshot } from '../metrics/snapshot.js';
import type { VeloMetrics } from '../metrics/prometheus.js';

/** The methods admin routes answer; HEAD is served by a route's GET handler. */
export type AdminMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** What every handler may use: the engine, the shared operations, metrics and a fresh snapshot. */
export interface AdminContext {
  engine: Engine;
  control: Control;
  metrics: VeloMetrics;
  /** The engine snapshot, rebuilt first when something changed since it was taken. */
  snapshot(): EngineSnapshot;
}

/** One request as a handler sees it: decoded path parameters and the JSON body, if any. */
export interface AdminRequest {
  params: Record<string, string>;
  /** Parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** The query string's parameters (filters and paging of `GET /api/logs`, `/api/events`). */
  query?: URLSearchParams;
}

/** A handler's answer: a JSON body, or raw text with its content type. */
export interface AdminReply {
  status: number;
  body?: unknown;
  text?: { contentType: string; content: string };
  headers?: Record<string, string>;
}

/** Answers one request, or throws to answer with an error. */
export type AdminHandler = (ctx: AdminContext, req: AdminRequest) => AdminReply | Promise<AdminReply>;

/** A path pattern and its handlers; `body: true` marks routes that read a JSON body. */
export interface AdminRoute {
  path: string;
  methods: Partial<Record<AdminMethod, AdminHandler>>;
  body?: boolean;
}

/** An error answered with `status` and a JSON body `{error, ...extra}`. */
export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A 200 (or `status`) JSON reply. */
export function json(body: unknown, status = 200, headers?: Record<string, string>): AdminReply {
  return { status, body, headers };
}

/** The body as a plain JSON object whose keys are all in `allowed`, or a 400 saying what is wrong. */
export function objectBody(body: unknown, allowed: readonly string[], example: string): Record<string, unknown> {
  if (body === undefined) throw new AdminHttpError(400, `a JSON body is required, e.g. ${example}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AdminHttpError(400, `the body must be a JSON object, e.g. ${example}`);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new AdminHttpError(400, `unknown field "${unknown[0]}" (allowed: ${allowed.join(', ')})`);
  return body as Record<string, unknown>;
}
