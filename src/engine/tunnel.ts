/**
 * The byte relay of an upgraded connection (WebSocket): client socket <-> backend socket, with
 * backpressure both ways and TCP half-close. A FIN from one side is passed on as a FIN and the
 * other side may keep sending (RFC 9293 section 3.6); the tunnel is over when both sides have
 * ended, when either is reset, or after `idleMs` without a byte either way. Once one side has
 * ended, the other gets `halfClosedIdleMs` of silence at most (HAProxy's `timeout client-fin`
 * and `server-fin`), so a peer that never closes its half cannot hold the tunnel forever.
 * Nothing either side wrote before its FIN is lost.
 */
import type { Socket } from 'node:net';
import type { TerminationCause } from './request-record.js';

/** How a tunnel ended: `-` both sides closed cleanly, DC client reset, UC backend reset, SI idle timeout, SD closed by velo. */
export type TunnelEnd = Extract<TerminationCause, '-' | 'DC' | 'UC' | 'SI' | 'SD'>;

export class Tunnel {
  /** Bytes from client to backend (the handshake's early data included). */
  bytesIn = 0;
  /** Bytes from backend to client. */
  bytesOut = 0;
  private closedSides = 0;
  private end: TunnelEnd | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private finished = false;

  /**
   * Starts relaying at once. `clientHead` are bytes the client sent after its handshake (they
   * go to the backend first); `onClose` runs once, after both sockets are closed.
   */
  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    clientHead: Buffer,
    private idleMs: number,
    private readonly halfClosedIdleMs: number,
    private readonly onClose: (end: TunnelEnd, tunnel: Tunnel) => void,
  ) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    if (clientHead.length > 0) {
      this.bytesIn += clientHead.length;
      upstream.write(clientHead);
    }
    this.relay(client, upstream, 'in');
    this.relay(upstream, client, 'out');
    this.touch();
  }

  /** Closes both sides at once (removal grace period over, shutdown). */
  /** Closes both sides at once on velo's behalf (shutdown, removal grace over): ends as `SD`. */
  destroy(): void {
    this.end ??= 'SD';
    this.client.destroy();
    this.upstream.destroy();
  }

  private relay(from: Socket, to: Socket, direction: 'in' | 'out'): void {
    from.on('data', (chunk: Buffer) => {
      if (direction === 'in') this.bytesIn += chunk.length;
      else this.bytesOut += chunk.length;
      this.touch();
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => from.resume());
    // A FIN: pass it on; `to` stays readable, so the other direction keeps flowing.
    from.on('end', () => {
      to.end();
      if (this.halfClosedIdleMs > 0 && (this.idleMs <= 0 || this.halfClosedIdleMs < this.idleMs)) {
        this.idleMs = this.halfClosedIdleMs;
        if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
        this.idleTimer = undefined;
        this.touch();
      }
    });
    from.on('error', () => {
      this.end ??= from === this.client ? 'DC' : 'UC';
    });
    from.on('close', () => {
      // Closed without both directions finishing (reset, error, destroy): the tunnel is over.
      if (!(from.readableEnded && from.writableFinished)) {
        this.end ??= from === this.client ? 'DC' : 'UC';
        to.destroy();
      }
      this.closedSides += 1;
      if (this.closedSides === 2) this.done();
    });
  }

  private touch(): void {
    if (this.idleMs <= 0) return;
    if (this.idleTimer === undefined) {
      this.idleTimer = setTimeout(() => {
        this.end ??= 'SI';
        this.client.destroy();
        this.upstream.destroy();
      }, this.idleMs);
    } else {
      this.idleTimer.refresh();
    }
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.onClose(this.end ?? '-', this);
  }
}
