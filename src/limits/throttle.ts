/**
 * Counts failures per client (a sliding window of `windowMs`) and says when a client has failed
 * too often. Memory is bounded: at most `maxClients` are tracked; the oldest are forgotten first.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
    private readonly maxClients = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(client: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const times = (this.failures.get(client) ?? []).filter((time) => time > cutoff);
    if (times.length === 0) this.failures.delete(client);
    else this.failures.set(client, times);
    return times;
  }

  /** Seconds until the client may try again, or 0 when it may now. */
  retryAfterSeconds(client: string): number {
    const times = this.recent(client);
    if (times.length < this.maxFailures) return 0;
    const oldest = times[times.length - this.maxFailures]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  recordFailure(client: string): void {
    const times = this.recent(client);
    times.push(this.now());
    // Only the newest `maxFailures` matter for the decision.
    this.failures.delete(client);
    this.failures.set(client, times.slice(-this.maxFailures));
    if (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value as string);
  }
}
