let last = 0;

/**
 * Milliseconds since the epoch, strictly increasing within this process, so items created in
 * the same millisecond keep their order (the protocol pages by creation time).
 */
export function monotonicNow(): number {
  const now = Date.now();
  last = now > last ? now : last + 1;
  return last;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The current time as an item's `created_at`: ISO 8601, strictly increasing (see `monotonicNow`). */
export function nowIso(): string {
  return toIso(monotonicNow());
}
