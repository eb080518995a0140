/** Request rate and error rate over the last few seconds, from the totals of successive snapshots. */
import { useRef } from 'react';
import type { EngineSnapshot } from '../../src/metrics/snapshot.js';

interface Sample {
  at: number;
  requests: number;
  failed: number;
}

/**
 * Requests per second and the fraction that failed over the last `windowMs` (default 3 s),
 * which reads steadier than one 250 ms tick; until two snapshots exist, the snapshot's own rates.
 */
export function useWindowRates(snapshot: EngineSnapshot, windowMs = 3000): { rps: number; errorRate: number } {
  const samples = useRef<Sample[]>([]);
  const list = samples.current;
  const { takenAt, totals } = snapshot;
  if (list.length === 0 || list[list.length - 1]!.at !== takenAt) {
    list.push({ at: takenAt, requests: totals.requests, failed: totals.failed });
    while (list.length > 2 && takenAt - list[0]!.at > windowMs) list.shift();
  }
  const first = list[0]!;
  const seconds = (takenAt - first.at) / 1000;
  const requests = totals.requests - first.requests;
  if (seconds <= 0 || requests < 0) return { rps: totals.rps, errorRate: totals.errorRate };
  return { rps: requests / seconds, errorRate: requests > 0 ? (totals.failed - first.failed) / requests : 0 };
}
