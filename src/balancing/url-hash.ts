import { RendezvousHash } from './rendezvous-hash.js';
import type { Balanceable, PickContext, Strategy } from './strategy.js';

/** Sends each request URL (path and query) to the same eligible backend; when a backend leaves, only the URLs it served move. */
export class UrlHash implements Strategy {
  readonly name = 'url-hash';
  private readonly hash = new RendezvousHash();

  pick(upstreams: readonly Balanceable[], ctx: PickContext): Balanceable | undefined {
    return this.hash.pick(upstreams, ctx.url, ctx);
  }
}
