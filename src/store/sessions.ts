import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { hashToken, newId, newSessionToken } from "../core/ids.ts";
import type { SessionRow, SessionStore, UserRow } from "./contract.ts";
import { PreparedQuery, type QueryRunner } from "./prepared.ts";
import type { Database } from "./schema.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * A session found for a token is trusted this long without asking the database again (every
 * request authenticates, usually with the token of the one before). Anything that ends sessions
 * is seen at once all the same: this process's own revocations, and on SQLite every change
 * another process commits (an operator command). Only another server on a shared PostgreSQL
 * can end a session unseen, for at most this long.
 */
const SESSION_CACHE_MS = 2_000;
const SESSION_CACHE_SIZE = 10_000;

interface CachedSession {
  found: { session: SessionRow; user: UserRow };
  at: number;
  /** `outsideChanges()` and `sessionEndings.count` when it was read. */
  outside: number | undefined;
  endings: number;
}
/** last_used_at is refreshed at most this often, so reads do not each cost a write. */
const TOUCH_INTERVAL_MS = 60_000;

export class SqlSessionStore implements SessionStore {
  private readonly db: Kysely<Database>;
  /** Every authenticated request's first query. */
  private readonly liveByTokenHash;
  /** Recently found sessions by token hash, oldest first. */
  private readonly recent = new Map<string, CachedSession>();

  constructor(private readonly runner: QueryRunner) {
    this.db = runner.db;
    this.liveByTokenHash = new PreparedQuery(runner, (v: { tokenHash: string; now: number }) =>
      this.db
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .selectAll("sessions")
        .select(["users.account_id", "users.email", "users.disabled_at", "users.created_at as user_created_at"])
        .where("sessions.token_hash", "=", v.tokenHash)
        .where("sessions.revoked_at", "is", null)
        .where("users.disabled_at", "is", null)
        .where((eb) => eb.or([eb("sessions.expires_at", "is", null), eb("sessions.expires_at", ">", v.now)])),
    );
  }

  async create(userId: string, ttlDays: number | null): Promise<{ session: SessionRow; token: string }> {
    const token = newSessionToken();
    const now = monotonicNow();
    const session: SessionRow = {
      id: newId("session"),
      user_id: userId,
      token_hash: hashToken(token),
      created_at: now,
      expires_at: ttlDays ? now + ttlDays * DAY_MS : null,
      revoked_at: null,
      last_used_at: null,
    };
    await this.db.insertInto("sessions").values(session).execute();
    return { session, token };
  }

  async authenticate(token: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const now = Date.now();
    const tokenHash = hashToken(token);
    const outside = this.runner.outsideChanges();
    const endings = this.runner.sessionEndings.count;
    let found = this.cached(tokenHash, now, outside, endings);
    if (!found) {
      const row = await this.liveByTokenHash.first({ tokenHash, now });
      if (!row) return undefined;
      const { account_id, email, disabled_at, user_created_at, ...session } = row;
      found = { session, user: { id: session.user_id, account_id, email, disabled_at, created_at: user_created_at } };
      if (this.recent.size >= SESSION_CACHE_SIZE) this.recent.delete(this.recent.keys().next().value as string);
      this.recent.set(tokenHash, { found, at: now, outside, endings });
    }
    const session = found.session;
    if (session.last_used_at === null || now - session.last_used_at > TOUCH_INTERVAL_MS) {
      session.last_used_at = now;
      await this.db.updateTable("sessions").set({ last_used_at: now }).where("id", "=", session.id).execute();
    }
    return { session: { ...session }, user: found.user };
  }

  private cached(tokenHash: string, now: number, outside: number | undefined, endings: number): CachedSession["found"] | undefined {
    const hit = this.recent.get(tokenHash);
    if (!hit) return undefined;
    const expiresAt = hit.found.session.expires_at;
    if (now - hit.at >= SESSION_CACHE_MS || hit.outside !== outside || hit.endings !== endings || (expiresAt !== null && expiresAt <= now)) {
      this.recent.delete(tokenHash);
      return undefined;
    }
    return hit.found;
  }

  async listAll(): Promise<Array<SessionRow & { email: string }>> {
    return this.db
      .selectFrom("sessions")
      .innerJoin("users", "users.id", "sessions.user_id")
      .selectAll("sessions")
      .select("users.email")
      .orderBy("sessions.created_at", "asc")
      .orderBy("sessions.id", "asc")
      .execute();
  }

  async revokeAllForUser(userId: string): Promise<number> {
    return this.revokeLive("user_id", userId);
  }

  async revoke(sessionId: string): Promise<boolean> {
    return (await this.revokeLive("id", sessionId)) > 0;
  }

  private async revokeLive(column: "id" | "user_id", value: string): Promise<number> {
    const result = await this.db
      .updateTable("sessions")
      .set({ revoked_at: monotonicNow() })
      .where(column, "=", value)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    // After the write: a lookup racing it may not cache the session as still live.
    this.runner.sessionEndings.count++;
    return Number(result.numUpdatedRows);
  }
}
