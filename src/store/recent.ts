import type { QueryRunner } from "./prepared.ts";

/**
 * How long a sign-in found in the database (a session by its token, an identity by its subject)
 * is trusted without asking again: every request authenticates, usually as the one before.
 */
const TRUST_MS = 2_000;
const SIZE = 10_000;

/** What could have ended a sign-in when a lookup ran; a lookup is reused only while both are unchanged. */
export interface Stamp {
  outside: number;
  endings: number;
}

/**
 * Recently found sign-ins, reused for a moment as long as nothing that can end them happened:
 * this process's own revocations and disables (`sessionEndings`), and every change another
 * process commits to the SQLite file (`data_version`: an operator command). On PostgreSQL
 * another server's writes cannot be seen that way, so nothing is kept there: a session ended or
 * a user disabled on one server is refused by every other server on its next request.
 */
export class RecentSignIns<T> {
  /** Oldest first. */
  private readonly entries = new Map<string, { value: T; at: number; stamp: Stamp }>();

  constructor(private readonly runner: QueryRunner) {}

  /** Taken before the lookup, so a change racing it is never missed. Undefined when nothing may be kept. */
  stamp(): Stamp | undefined {
    const outside = this.runner.outsideChanges();
    return outside === undefined ? undefined : { outside, endings: this.runner.sessionEndings.count };
  }

  /** The value kept for `key` if it was found under the same `stamp` (see `stamp()`) moments ago and is `stillLive`. */
  get(key: string, now: number, current: Stamp | undefined, stillLive: (value: T) => boolean = () => true): T | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (now - hit.at >= TRUST_MS || !current || current.outside !== hit.stamp.outside || current.endings !== hit.stamp.endings || !stillLive(hit.value)) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: T, now: number, stamp: Stamp | undefined): void {
    if (!stamp) return;
    if (this.entries.size >= SIZE) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, at: now, stamp });
  }
}
