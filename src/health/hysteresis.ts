/**
 * HAProxy-style rise/fall hysteresis: a backend goes down after `fall` consecutive failed
 * checks and comes back after `rise` consecutive passes. Until the first check has been
 * recorded the state is `unknown`, which the first result settles at once: there is no
 * evidence yet in either direction, and a dead backend must not take traffic for `fall`
 * intervals after start.
 */
export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export class Hysteresis {
  state: HealthState = 'unknown';
  private passes = 0;
  private failures = 0;

  constructor(
    public rise: number,
    public fall: number,
  ) {}

  /** Records one check; returns the new state when it changed, otherwise undefined. */
  record(ok: boolean): HealthState | undefined {
    if (ok) {
      this.failures = 0;
      this.passes += 1;
      if (this.state === 'healthy') return undefined;
      if (this.state === 'unknown' || this.passes >= this.rise) return this.set('healthy');
    } else {
      this.passes = 0;
      this.failures += 1;
      if (this.state === 'unhealthy') return undefined;
      if (this.state === 'unknown' || this.failures >= this.fall) return this.set('unhealthy');
    }
    return undefined;
  }

  /** Forces a state (an operator action or a passed check after ejection); counters restart. */
  set(state: HealthState): HealthState {
    this.state = state;
    this.passes = 0;
    this.failures = 0;
    return state;
  }
}
