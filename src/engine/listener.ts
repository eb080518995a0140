/**
 * The client-facing socket layer: the http or https server, its certificates (SNI, min version,
 * ciphers, reload without dropping connections), the TLS handshake timeout, the PROXY protocol,
 * plain HTTP sent to the TLS port, and how a connection velo gives up on is closed.
 *
 * Guarantees:
 * - Nothing is written on a TLS connection whose handshake has not finished: it is destroyed
 *   (bytes queued there never flush, and the fd would stay until the client leaves).
 * - A connection cut for a client error (400, 408, 431) gets its reply and a FIN, and is destroyed
 *   `CUT_LINGER_MS` later whatever the client does: a client that ignores the FIN keeps no fd.
 * - Before a byte reaches TLS or HTTP, a gate reads the connection's preamble: the PROXY header
 *   (required from `listen.proxy_protocol.trusted` peers, refused from others, as HAProxy's
 *   `accept-proxy`), then on a TLS port the first byte: 0x16 is a TLS handshake record
 *   (RFC 8446 section 5.1, content type 22), an ASCII letter is plain HTTP and is answered 400 in
 *   cleartext. The gate has the handshake timeout (the header timeout on a plain port).
 */
import http from 'node:http';
import https from 'node:https';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { ListenConfig, ListenTlsConfig, VeloConfig } from '../config/types.js';
import type { EventLog } from '../metrics/event-log.js';
import type { Logger } from '../log/logger.js';
import { IpMatcher, normalizeIp } from '../resilience/ip-filter.js';
import { parseProxyHeader } from './proxy-protocol.js';
import { contextForServername, loadTlsMaterial, type TlsMaterial } from './tls-certificates.js';
import { Http2Sessions } from './http2-sessions.js';
import { ConfigError } from '../errors.js';

/** After a reply to a connection velo cuts, the client has this long (ms) to read it before the socket is destroyed. */
export const CUT_LINGER_MS = 1000;

/** Status lines for malformed or too slow client requests, by Node's error code. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

const PLAIN_HTTP_BODY = '{"error":"The plain HTTP request was sent to HTTPS port"}\n';
/** nginx's answer to the same mistake (its error 497), in velo's JSON error shape. */
const PLAIN_HTTP_REPLY =
  'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n' +
  `content-length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\n\r\n${PLAIN_HTTP_BODY}`;

/** TLS record content type `handshake` (RFC 8446 section 5.1): every ClientHello starts with it. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** The client connection preface of HTTP/2 (RFC 9113 section 3.4): how an h2c connection starts. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * The client address learnt from a PROXY header, kept on the raw socket it arrived on. A
 * property, not a WeakMap entry: node:http2 hands requests a proxy of the socket, which
 * forwards property reads (this one too) but is not the socket itself.
 */
const PROXIED_PEER = Symbol('velo.proxiedPeer');
type PeerSocket = Socket & { [PROXIED_PEER]?: string; _parent?: PeerSocket | null };

/**
 * The client's address for a socket velo accepted: the source of its PROXY header when a trusted
 * balancer sent one, else the TCP peer, in `normalizeIp` form (IPv4-mapped IPv6 as IPv4).
 * Works for the TLS socket too (Node keeps the raw socket as its `_parent`) and for the socket
 * proxy of an HTTP/2 request.
 */
export function peerAddress(socket: Socket): string {
  const s = socket as PeerSocket;
  return s[PROXIED_PEER] ?? s._parent?.[PROXIED_PEER] ?? normalizeIp(s.remoteAddress);
}

/**
 * Connections velo already answered with `Connection: close` because their framing cannot be
 * trusted (engine.ts marks them). Whatever Node parses after that on such a connection (a
 * request behind the bad one, possibly smuggled, or garbage) gets no second answer.
 */
export const closingConnections = new WeakSet<Socket>();

/**
 * During a drain, a keep-alive connection is closed once it has carried no request for this
 * long (ms): longer than a busy client's gap between a response and its next request, short
 * enough not to hold a shutdown (`Listener.closeIdleFor`).
 */
export const DRAIN_IDLE_GRACE_MS = 250;

/** An idle keep-alive connection (HTTP/1.1) or session (HTTP/2) is closed after this (ms); nginx's default is 75 s. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Writes `reply`, sends a FIN, and destroys the socket `CUT_LINGER_MS` later (or when the client
 * closes first): the reply gets time to be read (RFC 9112 section 9.6 lingering close), a client
 * that never closes its side cannot keep the fd.
 */
export function replyAndClose(socket: Socket, reply: string): void {
  const timer = setTimeout(() => socket.destroy(), CUT_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(reply);
}

export interface ListenerHandlers {
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  onUpgrade: (req: http.IncomingMessage, socket: Socket, head: Buffer) => void;
}

export interface ListenerDeps {
  logger: Logger;
  events: EventLog;
}

/** Who asked for a certificate reload, for the event log. */
export type CertificateReloadActor = string;

export class Listener {
  /** The http(s) server: `close`, `closeIdleConnections` and `closeAllConnections` work on it as usual. */
  readonly server: http.Server;
  private material: TlsMaterial | undefined;
  private tls: ListenTlsConfig | undefined;
  private proxyTrusted: IpMatcher | undefined;
  /** TLS sockets whose handshake finished: only these may be written to by the clientError handler. */
  private readonly established = new WeakSet<Socket>();
  /** Raw sockets not yet handed to HTTP: in the gate, or in their TLS handshake. */
  private readonly preHttp = new Set<Socket>();
  /** HTTP/2 connections: TLS ones that chose `h2` by ALPN, plain ones that sent the preface (h2c). */
  private readonly h2: Http2Sessions;
  /** HTTP/1.1 connections (after TLS), their requests in flight and when the last one ended (ms). */
  private readonly connections = new Map<Socket, { inFlight: number; idleSince: number; seenIdleAt: number }>();
  private watchers: FSWatcher[] = [];
  private watchDebounce: NodeJS.Timeout | undefined;

  /** Builds the server for `config.listen`; throws a `ConfigError` when a certificate cannot be loaded. */
  constructor(
    private readonly config: VeloConfig,
    handlers: ListenerHandlers,
    private readonly deps: ListenerDeps,
  ) {
    const { listen } = config;
    // Node checks header/request timeouts only every connectionsCheckingInterval (30 s by
    // default), far too coarse to defend against slowloris with a 10 s header timeout.
    const checking = { connectionsCheckingInterval: Math.max(50, Math.min(1000, config.clientHeaderTimeoutMs / 4)) };
    this.h2 = new Http2Sessions(handlers.onRequest as unknown as ConstructorParameters<typeof Http2Sessions>[0], {
      headerTimeoutMs: config.clientHeaderTimeoutMs,
      requestTimeoutMs: config.clientRequestTimeoutMs,
      idleTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    });
    if (listen.tls !== undefined) {
      this.tls = listen.tls;
      this.material = loadTlsMaterial(listen.tls);
      this.server = https.createServer({
        ...checking,
        ...this.material.defaultOptions,
        ALPNProtocols: listen.http2 === false ? ['http/1.1'] : ['h2', 'http/1.1'],
        handshakeTimeout: config.clientTlsHandshakeTimeoutMs,
        SNICallback: (servername, done) => done(null, this.material !== undefined ? contextForServername(this.material, servername) : undefined),
      });
      // The protocol is known once the handshake is done: h2 goes to the HTTP/2 sessions, the
      // rest to the HTTP/1.1 parser https.Server installed.
      const http1 = this.server.listeners('secureConnection') as Array<(socket: Socket) => void>;
      this.server.removeAllListeners('secureConnection');
      this.server.on('secureConnection', (socket: Socket & { alpnProtocol?: string | false }) => {
        this.established.add(socket);
        const parent = (socket as PeerSocket)._parent;
        if (parent) this.preHttp.delete(parent);
        if (socket.alpnProtocol === 'h2') return this.h2.accept(socket);
        for (const listener of http1) listener.call(this.server, socket);
      });
    } else {
      this.server = http.createServer(checking);
    }
    this.proxyTrusted = listen.proxyProtocol !== undefined ? new IpMatcher(listen.proxyProtocol.trusted) : undefined;
    const server = this.server;
    server.headersTimeout = config.clientHeaderTimeoutMs;
    server.requestTimeout = config.clientRequestTimeoutMs;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    const track = (socket: Socket & { alpnProtocol?: string | false }): void => {
      if (socket.alpnProtocol === 'h2') return;
      this.connections.set(socket, { inFlight: 0, idleSince: performance.now(), seenIdleAt: -1 });
      socket.once('close', () => this.connections.delete(socket));
    };
    if (listen.tls !== undefined) server.on('secureConnection', track);
    else server.on('connection', track);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const c = this.connections.get(req.socket);
      if (c === undefined) return;
      c.inFlight += 1;
      c.seenIdleAt = -1;
      res.once('close', () => {
        c.inFlight -= 1;
        c.idleSince = performance.now();
      });
    });
    // An upgraded connection is a tunnel now, closed with the tunnels.
    server.on('upgrade', (req: http.IncomingMessage) => this.connections.delete(req.socket));
    server.on('request', handlers.onRequest);
    server.on('upgrade', handlers.onUpgrade);
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      // A TLS socket mid-handshake (timeout, bad ClientHello) cannot carry an HTTP reply.
      const handshaking = this.material !== undefined && !this.established.has(socket);
      if (handshaking || !socket.writable || err.code === 'ECONNRESET') return socket.destroy();
      if (closingConnections.has(socket)) {
        // The answer already written closes it; only make sure it cannot linger.
        setTimeout(() => socket.destroy(), CUT_LINGER_MS).unref();
        return;
      }
      const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
      replyAndClose(socket, `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    if (this.material !== undefined || listen.proxyProtocol !== undefined || listen.h2c === true) this.installGate();
    server.on('close', () => this.unwatch());
    // Node's idle connections are HTTP connections without a request; a connection that has not
    // reached HTTP yet (PROXY header, TLS handshake) is idle too. Without this a shutdown would
    // wait for those to time out.
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = (): void => {
      // Node's server.close() sweeps idle connections at once (since Node 19): during a drain
      // that would reset a keep-alive client whose next request is already on the wire.
      if (this.draining) return this.closeIdleFor(DRAIN_IDLE_GRACE_MS);
      for (const socket of this.preHttp) socket.destroy();
      closeIdle();
    };
    const closeAll = server.closeAllConnections.bind(server);
    server.closeAllConnections = (): void => {
      this.h2.destroyAll();
      closeAll();
    };
  }

  /** Set when a graceful stop begins: idle connections are closed the draining way (`closeIdleFor`). */
  draining = false;

  /** HTTP/1.1 connections and HTTP/2 sessions still open (tunnels not counted). */
  get openConnections(): number {
    return this.connections.size + this.h2.size;
  }

  /**
   * A draining close of idle connections: those that never reached HTTP and those without a
   * request for `graceMs` close now. One that has just answered stays a moment, so a
   * keep-alive client's next request (already on the wire) is answered, with `Connection:
   * close`, rather than meeting a closed socket: the race RFC 9112 section 9.6 leaves to
   * clients, which most do not retry. Envoy drains HTTP/1.1 the same way.
   */
  closeIdleFor(graceMs: number): void {
    for (const socket of this.preHttp) socket.destroy();
    // HTTP/2 has its own way: GOAWAY, and each session closes after its last stream.
    this.h2.drain();
    const now = performance.now();
    for (const [socket, c] of this.connections) {
      if (c.inFlight > 0 || now - c.idleSince < graceMs) continue;
      // Closed only when it was already idle, with nothing read since, at an earlier call: a
      // stalled event loop may not have read a request that is already waiting; between two
      // calls it has (its poll phase ran), so "idle" is then true and not a lag artefact.
      if (c.seenIdleAt >= 0 && c.seenIdleAt === socket.bytesRead) socket.destroy();
      else c.seenIdleAt = socket.bytesRead;
    }
  }

  /** Binds `listen.host:port` (0 picks a free port) and starts watching certificate files. */
  async listen(): Promise<void> {
    const { host, port } = this.config.listen;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.watchCertificates();
  }

  /** Applies a reloaded `listen.proxy_protocol` (the trusted list takes effect for new connections). */
  setProxyProtocol(listen: ListenConfig): void {
    this.proxyTrusted = listen.proxyProtocol !== undefined ? new IpMatcher(listen.proxyProtocol.trusted) : undefined;
    // Turning the PROXY protocol on for a listener started without it needs the gate.
    if (listen.proxyProtocol !== undefined) this.installGate();
  }

  /**
   * Reads and checks the certificates of `tls` without installing them. Returns the function that
   * installs them (true when anything changed), or undefined when there is nothing to do. Throws a
   * `ConfigError` naming the broken file or pair; the running certificates stay.
   */
  prepareCertificates(tls: ListenTlsConfig | undefined): ((actor: CertificateReloadActor) => boolean) | undefined {
    if ((tls === undefined) !== (this.material === undefined)) {
      return () => {
        this.deps.logger.warn('turning listen.tls on or off takes effect after a restart', {});
        return false;
      };
    }
    if (tls === undefined) return undefined;
    const material = loadTlsMaterial(tls);
    return (actor) => {
      const changed = material.fingerprint !== this.material?.fingerprint;
      this.tls = tls;
      if (!changed) return false;
      // New connections get the new default context; open ones keep the one they negotiated.
      (this.server as https.Server).setSecureContext(material.defaultOptions);
      this.material = material;
      this.watchCertificates();
      const message = `TLS certificates reloaded by ${actor} (${1 + (tls.certificates.length)} certificate${tls.certificates.length === 0 ? '' : 's'})`;
      this.deps.events.add({ kind: 'reload', level: 'info', message });
      this.deps.logger.info('tls certificates reloaded', { actor, files: material.files.length });
      return true;
    };
  }

  /**
   * Re-reads the running `listen.tls` certificates (file change, SIGHUP). A broken or mismatched
   * pair keeps the old ones; the reason goes to the event log and the log. Returns whether the new
   * ones are in use.
   */
  reloadCertificates(actor: CertificateReloadActor): boolean {
    try {
      return this.prepareCertificates(this.tls)?.(actor) ?? false;
    } catch (err) {
      const reason = err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : String(err);
      this.deps.events.add({ kind: 'reload', level: 'error', message: `TLS certificates not reloaded (${actor}), old ones kept: ${reason}` });
      this.deps.logger.error('tls certificates not reloaded, old ones kept', { actor, reason });
      return false;
    }
  }

  private watchCertificates(): void {
    this.unwatch();
    if (this.material === undefined || !this.server.listening) return;
    const byDir = new Map<string, Set<string>>();
    for (const file of this.material.files) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        // The directory, not the file: certbot and editors replace files by renaming over them.
        const watcher = watch(dir, (_event, changed) => {
          if (changed !== null && !names.has(changed)) return;
          clearTimeout(this.watchDebounce);
          this.watchDebounce = setTimeout(() => this.reloadCertificates('file-watch'), 200);
          this.watchDebounce.unref();
        });
        watcher.on('error', () => {});
        watcher.unref();
        this.watchers.push(watcher);
      } catch (err) {
        this.deps.logger.warn('cannot watch certificate directory; use SIGHUP or `velo reload`', { dir, err });
      }
    }
  }

  private unwatch(): void {
    clearTimeout(this.watchDebounce);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** The server's own connection listeners (TLS wrapping, or HTTP parsing), run after the gate. */
  private inner: Array<(socket: Socket) => void> = [];

  private installGate(): void {
    if (this.server.listeners('connection').includes(this.gate)) return;
    this.inner = this.server.listeners('connection') as Array<(socket: Socket) => void>;
    this.server.removeAllListeners('connection');
    this.server.on('connection', this.gate);
  }

  /** Reads the preamble of a new connection (see the module comment), then hands it on. */
  private readonly gate = (socket: Socket): void => {
    const tls = this.material !== undefined;
    this.preHttp.add(socket);
    socket.once('close', () => this.preHttp.delete(socket));
    const trusted = this.proxyTrusted?.matches(normalizeIp(socket.remoteAddress));
    let proxyPending = trusted !== undefined;
    let buffered: Buffer = Buffer.alloc(0);
    const timeoutMs = tls ? this.config.clientTlsHandshakeTimeoutMs : this.config.clientHeaderTimeoutMs;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    const onError = (): void => {
      socket.destroy();
    };
    const stop = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', stop);
    };
    const refuse = (reason: string): void => {
      stop();
      this.deps.logger.debug('connection refused', { peer: normalizeIp(socket.remoteAddress), reason });
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (proxyPending) {
        const parsed = parseProxyHeader(buffered);
        if (parsed.kind === 'incomplete') return;
        if (trusted === true) {
          if (parsed.kind === 'absent') return refuse('no PROXY header from a proxy_protocol.trusted peer');
          if (parsed.kind === 'invalid') return refuse(`bad PROXY header: ${parsed.reason}`);
          if (parsed.source !== undefined) (socket as PeerSocket)[PROXIED_PEER] = normalizeIp(parsed.source.address);
          buffered = buffered.subarray(parsed.length);
        } else if (parsed.kind !== 'absent') {
          return refuse('PROXY header from a peer not in proxy_protocol.trusted');
        }
        proxyPending = false;
      }
      if (tls) {
        if (buffered.length === 0) return;
        const first = buffered[0]!;
        if (first !== TLS_HANDSHAKE_RECORD && first >= 0x41 && first <= 0x5a) {
          // A request method (RFC 9110 section 9: upper-case by convention) on the TLS port.
          stop();
          socket.on('error', onError);
          return replyAndClose(socket, PLAIN_HTTP_REPLY);
        }
      }
      let h2c = false;
      if (!tls && this.config.listen.h2c === true) {
        // Prior knowledge: the preface, byte for byte, or HTTP/1.1 (RFC 9113 section 3.3).
        const n = Math.min(buffered.length, H2_PREFACE.length);
        h2c = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (h2c && n < H2_PREFACE.length) return;
      }
      stop();
      // Plain HTTP belongs to Node's connection tracking from here; TLS once its handshake is done.
      if (!tls) this.preHttp.delete(socket);
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      // node:http2 takes what was unshifted, then reads the socket's handle itself: no resume.
      if (h2c) return this.h2.accept(socket);
      for (const listener of this.inner) listener.call(this.server, socket);
      // The TLS layer reads the raw socket itself; the HTTP parser needs the stream flowing.
      if (!tls) socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', stop);
  };
}
