/**
 * The few calls of the Docker Engine API velo needs (list containers, follow events), over
 * undici on the daemon's unix socket or TCP port: undici does the HTTP (chunked streams
 * included), this file only builds the URLs and splits the event stream into JSON lines.
 * API reference: https://docs.docker.com/reference/api/engine/ (paths are unversioned, so the
 * daemon answers in its own API version; the fields read here exist since API 1.24).
 */
import { Agent, request, type Dispatcher } from 'undici';

/** One container as `GET /containers/json` lists it (only the fields velo reads). */
export interface DockerContainer {
  Id: string;
  /** `['/web-1']`: the first is the container's name. */
  Names: string[];
  Labels: Record<string, string> | null;
  /** `running`, `paused`, `restarting`, `exited`, ... */
  State: string;
  /** Exposed (`PrivatePort`) and published (`PublicPort` on `IP`) ports. */
  Ports?: Array<{ PrivatePort: number; PublicPort?: number; IP?: string; Type: string }>;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null };
}

/** One line of `GET /events` (only the fields velo reads). */
export interface DockerEvent {
  Type: string;
  /** `start`, `die`, `kill`, `stop`, `pause`, `unpause`, `destroy`, `health_status: healthy`, ... */
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
}

/** Docker could not be reached, or answered with an error; the message names the endpoint. */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The daemon's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message, options);
  }
}

/** `GET /containers/{id}/json`, the fields velo reads. */
interface DockerInspect {
  Id: string;
  Name: string;
  State: { Status: string };
  Config: { Labels: Record<string, string> | null; ExposedPorts?: Record<string, object> | null };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: {
    Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null;
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
  };
}

/** An inspect answer in the listing's shape, so one reader (docker-labels.ts) serves both. */
function fromInspect(i: DockerInspect): DockerContainer {
  const ports: NonNullable<DockerContainer['Ports']> = [];
  const keys = new Set([...Object.keys(i.Config.ExposedPorts ?? {}), ...Object.keys(i.NetworkSettings?.Ports ?? {})]);
  for (const key of keys) {
    const [port, type = 'tcp'] = key.split('/');
    const bindings = i.NetworkSettings?.Ports?.[key] ?? [];
    if (bindings.length === 0) ports.push({ PrivatePort: Number(port), Type: type });
    for (const b of bindings) ports.push({ PrivatePort: Number(port), PublicPort: Number(b.HostPort), IP: b.HostIp, Type: type });
  }
  return {
    Id: i.Id,
    Names: [i.Name],
    Labels: i.Config.Labels,
    State: i.State.Status,
    Ports: ports,
    HostConfig: i.HostConfig ?? {},
    NetworkSettings: { Networks: i.NetworkSettings?.Networks ?? {} },
  };
}

/** Where to reach the daemon: a unix socket, or an HTTP origin for `tcp://` and `http://`. */
export function parseDockerEndpoint(endpoint: string): { socketPath?: string; origin: string } {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length), origin: 'http://docker' };
  const m = /^(?:tcp|http):\/\/([^\s/?#]+)\/?$/.exec(endpoint);
  if (m === null) throw new DockerApiError(`"${endpoint}" is not a Docker endpoint (expected unix:///path or tcp://host:port)`);
  return { origin: `http://${m[1]!}` };
}

export class DockerApi {
  private readonly dispatcher: Agent;
  private readonly origin: string;

  constructor(
    readonly endpoint: string,
    /** Bounds every call but the event stream, which stays open (ms). */
    private readonly timeoutMs = 5000,
  ) {
    const { socketPath, origin } = parseDockerEndpoint(endpoint);
    this.origin = origin;
    this.dispatcher = new Agent({ connect: socketPath !== undefined ? { socketPath, timeout: timeoutMs } : { timeout: timeoutMs } });
  }

  /**
   * Running and paused containers carrying the label `label` (any value). Rejects when the
   * daemon cannot be reached or answers other than 200 (the message names the endpoint).
   */
  async listContainers(label: string): Promise<DockerContainer[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const res = await this.call(`/containers/json?filters=${filters}`, AbortSignal.timeout(this.timeoutMs));
    return (await res.body.json()) as DockerContainer[];
  }

  /**
   * One container as the daemon holds it now, in the listing's shape; undefined when it is gone
   * (404). Read after an event: the daemon answers an inspect only once the change the event
   * announced is complete, while its listing may still show the state before it.
   */
  async inspectContainer(id: string): Promise<DockerContainer | undefined> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.call(`/containers/${encodeURIComponent(id)}/json`, AbortSignal.timeout(this.timeoutMs));
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404) return undefined;
      throw err;
    }
    return fromInspect((await res.body.json()) as DockerInspect);
  }

  /**
   * Follows container events until `signal` aborts or the stream breaks: resolves once the
   * daemon accepted the subscription, then calls `onEvent` per event and `onEnd` exactly once
   * when the stream ends (with the error, if any; an abort ends it without one).
   */
  async followEvents(signal: AbortSignal, onEvent: (e: DockerEvent) => void, onEnd: (err?: Error) => void): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const res = await this.call(`/events?filters=${filters}`, signal, 0);
    void (async () => {
      let buffered = '';
      try {
        for await (const chunk of res.body) {
          buffered += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line !== '') onEvent(JSON.parse(line) as DockerEvent);
          }
        }
        onEnd(signal.aborted ? undefined : new Error('the Docker event stream ended'));
      } catch (err) {
        onEnd(signal.aborted ? undefined : (err as Error));
      }
    })();
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }

  private async call(path: string, signal: AbortSignal, bodyTimeout?: number): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.origin}${path}`, { dispatcher: this.dispatcher, signal, headersTimeout: this.timeoutMs, ...(bodyTimeout !== undefined ? { bodyTimeout } : {}) });
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new DockerApiError(`Docker at ${this.endpoint}: ${e.code ?? e.message}`, { cause: err });
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw new DockerApiError(`Docker at ${this.endpoint} answered ${res.statusCode} for ${path.split('?')[0]}: ${text.trim().slice(0, 200)}`, undefined, res.statusCode);
    }
    return res;
  }
}
