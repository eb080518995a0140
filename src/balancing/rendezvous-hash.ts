import { isEligible, type Balanceable, type PickContext } from './strategy.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_POW_32 = 4294967296;
const MAX_CACHED_IDS = 4096;

/** 32-bit FNV-1a over the string's UTF-16 code units (equal to byte-wise FNV-1a for ASCII). */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: a bijection on uint32 in which every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Weighted rendezvous score -weight / ln(u), u in (0, 1) derived from both hashes; the highest score wins. */
export function rendezvousScore(keyHash: number, idHash: number, weight: number): number {
  const u = (fmix32(keyHash ^ idHash) + 0.5) / TWO_POW_32;
  return -weight / Math.log(u);
}

/**
 * Weighted rendezvous (highest random weight) hashing: a key always maps to the same eligible
 * backend, and when a backend leaves or becomes ineligible only the keys it held move.
 * Weighting per Schindelhauer & Schomaker, "Weighted distributed hash tables" (SPAA 2005).
 */
export class RendezvousHash {
  private readonly idHashes = new Map<string, number>();

  pick(upstreams: readonly Balanceable[], key: string, ctx: PickContext): Balanceable | undefined {
    const keyHash = fmix32(fnv1a32(key));
    let best: Balanceable | undefined;
    let bestScore = -Infinity;
    for (const u of upstreams) {
      if (!isEligible(u, ctx)) continue;
      const score = rendezvousScore(keyHash, this.idHash(u.id), u.effectiveWeight(ctx.now));
      if (best === undefined || score > bestScore) {
        best = u;
        bestScore = score;
      }
    }
    return best;
  }

  private idHash(id: string): number {
    let h = this.idHashes.get(id);
    if (h === undefined) {
      if (this.idHashes.size >= MAX_CACHED_IDS) this.idHashes.clear();
      h = fmix32(fnv1a32(id));
      this.idHashes.set(id, h);
    }
    return h;
  }
}
