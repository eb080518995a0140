import { RendezvousHash } from './rendezvous-hash.js';
import type { Balanceable, PickContext, Strategy } from './strategy.js';

/** Sends each client IP to the same eligible backend; when a backend leaves, only the clients it served move. */
export class IpHash implements Strategy {
  readonly name = 'ip-hash';
  private readonly hash = new RendezvousHash();

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    return this.hash.pick(upstreams, ctx.clientIp, ctx);
  }
}
