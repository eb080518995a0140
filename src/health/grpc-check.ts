/**
 * The `grpc` health check: one `grpc.health.v1.Health/Check` call
 * (https://github.com/grpc/grpc/blob/master/doc/health-checking.md) with @grpc/grpc-js and the
 * health service definition grpc-health-check ships. SERVING passes; any other status, an
 * unknown service (NOT_FOUND) or a failed call fails, with the reason as the check's detail.
 *
 * Each check opens its own channel and closes it (a private subchannel pool, so closing it closes
 * the connection at once). A channel kept between checks would carry grpc-js's reconnect
 * backoff (up to two minutes) into the checks of a backend that comes back, and health checks
 * are rare enough (one per `interval`) for a connection each, as HAProxy's are. The call's
 * deadline is the check's `timeout`, connecting included.
 *
 * The channel reaches the backend as requests do: an https backend with the pool's `tls`
 * settings (CA, client certificate, the name checked and sent as SNI, `verify`), a DNS
 * `single`-mode name at the address velo's resolver gives, with the name as the authority.
 * grpc-js loads on the first gRPC check only.
 */
import type { ChannelCredentials, ChannelOptions, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import type { HealthCheckConfig } from '../config/types.js';
import type { ConnectLookup } from '../discovery/dns-lookup.js';
import type { UpstreamTlsOptions } from '../upstream/upstream-tls.js';

/** What a gRPC check needs of a backend. */
export interface GrpcProbeTarget {
  url: URL;
  /** The pool's TLS settings for an https backend; absent: Node's defaults (system CAs, verify). */
  tls?: UpstreamTlsOptions;
  /** velo's resolver for a DNS `single`-mode name; absent: grpc-js resolves the host itself. */
  lookup?: ConnectLookup;
}

export interface GrpcProbeResult {
  ok: boolean;
  durationMs: number;
  detail?: string;
}

interface GrpcLibrary {
  grpc: typeof import('@grpc/grpc-js');
  HealthClient: ServiceClientConstructor;
}

let library: Promise<GrpcLibrary> | undefined;

function loadLibrary(): Promise<GrpcLibrary> {
  library ??= Promise.all([import('@grpc/grpc-js'), import('grpc-health-check')]).then(([grpcModule, healthModule]) => {
    const grpc = ((grpcModule as { default?: unknown }).default ?? grpcModule) as typeof import('@grpc/grpc-js');
    const health = ((healthModule as { default?: unknown }).default ?? healthModule) as typeof import('grpc-health-check');
    return { grpc, HealthClient: grpc.makeGenericClientConstructor(health.service as never, 'grpc.health.v1.Health') };
  });
  return library;
}

/** The address to dial: the URL's host, or what `lookup` resolves it to. */
function dialHost(target: GrpcProbeTarget): Promise<string> {
  const host = target.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const lookup = target.lookup;
  if (lookup === undefined) return Promise.resolve(host);
  return new Promise((resolve, reject) => {
    lookup(host, {}, (err, address) => {
      if (err !== null) return reject(err);
      resolve(typeof address === 'string' ? address : address[0]!.address);
    });
  });
}

function credentialsFor(grpc: GrpcLibrary['grpc'], target: GrpcProbeTarget): ChannelCredentials {
  if (target.url.protocol !== 'https:') return grpc.credentials.createInsecure();
  const tls = target.tls;
  return grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null, { rejectUnauthorized: tls?.rejectUnauthorized ?? true });
}

/** One Health/Check call against `target`; never rejects. */
export async function grpcProbe(target: GrpcProbeTarget, config: Pick<HealthCheckConfig, 'timeoutMs' | 'service'>): Promise<GrpcProbeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 100) / 100;
  let close: (() => void) | undefined;
  try {
    const { grpc, HealthClient } = await loadLibrary();
    const https = target.url.protocol === 'https:';
    const port = target.url.port !== '' ? target.url.port : https ? '443' : '80';
    const address = await dialHost(target);
    const options: ChannelOptions = {
      // Closing the client then closes its connection, instead of leaving it in the shared pool.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.default_authority': target.url.host,
      'grpc.enable_retries': 0,
      'grpc.service_config_disable_resolution': 1,
      ...(https && target.tls?.servername !== undefined ? { 'grpc.ssl_target_name_override': target.tls.servername } : {}),
    };
    const client = new HealthClient(`${address.includes(':') ? `[${address}]` : address}:${port}`, credentialsFor(grpc, target), options);
    close = () => client.close();
    const reply = await new Promise<{ status?: string }>((resolve, reject) => {
      const check = client['check'] as (request: { service: string }, options: { deadline: number }, callback: (err: ServiceError | null, reply: { status?: string }) => void) => void;
      check.call(client, { service: config.service ?? '' }, { deadline: Date.now() + config.timeoutMs }, (err, response) => (err !== null ? reject(err) : resolve(response)));
    });
    const ok = reply.status === 'SERVING';
    return { ok, durationMs: elapsed(), ...(ok ? {} : { detail: `status ${reply.status ?? 'UNKNOWN'}` }) };
  } catch (err) {
    const e = err as Partial<ServiceError> & Error;
    if (typeof e.code === 'number') {
      const name = (await loadLibrary()).grpc.status[e.code] ?? String(e.code);
      return { ok: false, durationMs: elapsed(), detail: e.code === 4 ? `timeout after ${config.timeoutMs}ms` : `${name}: ${(e.details ?? e.message).replace(/\s*Resolution note:\s*$/, '')}` };
    }
    return { ok: false, durationMs: elapsed(), detail: (e as { code?: string }).code ?? e.message };
  } finally {
    close?.();
  }
}
