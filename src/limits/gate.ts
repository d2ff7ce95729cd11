/**
 * At most `max` holders at once; a caller that finds no free slot is refused at once (it is not
 * queued), so a burst costs nothing but the refusal.
 */
export class ConcurrencyGate {
  private active = 0;

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.active;
  }

  /** A release function (safe to call twice), or undefined when every slot is taken. */
  tryAcquire(): (() => void) | undefined {
    if (this.active >= this.max) return undefined;
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
    };
  }
}

/** One `ConcurrencyGate`-like count per key (a user), forgetting keys with nothing held. */
export class KeyedGate {
  private readonly active = new Map<string, number>();

  constructor(readonly max: number) {}

  tryAcquire(key: string): (() => void) | undefined {
    const current = this.active.get(key) ?? 0;
    if (current >= this.max) return undefined;
    this.active.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left <= 0) this.active.delete(key);
      else this.active.set(key, left);
    };
  }
}
