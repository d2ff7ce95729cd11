import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { hashToken, newId, newSessionToken } from "../core/ids.ts";
import type { SessionRow, SessionStore, UserRow } from "./contract.ts";
import { PreparedQuery, type QueryRunner } from "./prepared.ts";
import { RecentSignIns } from "./recent.ts";
import type { Database } from "./schema.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** last_used_at is refreshed at most this often, so reads do not each cost a write. */
export const TOUCH_INTERVAL_MS = 60_000;

export class SqlSessionStore implements SessionStore {
  private readonly db: Kysely<Database>;
  /** Every authenticated request's first query. */
  private readonly liveByTokenHash;
  /** Recently found sessions by token hash. */
  private readonly recent: RecentSignIns<{ session: SessionRow; user: UserRow }>;

  constructor(private readonly runner: QueryRunner) {
    this.db = runner.db;
    this.recent = new RecentSignIns(runner);
    this.liveByTokenHash = new PreparedQuery(runner, (v: { tokenHash: string; now: number }) =>
      this.db
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .selectAll("sessions")
        .select(["users.account_id", "users.email", "users.role", "users.disabled_at", "users.created_at as user_created_at"])
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
    const stamp = this.recent.stamp();
    let found = this.recent.get(tokenHash, now, stamp, ({ session }) => session.expires_at === null || session.expires_at > now);
    if (!found) {
      const row = await this.liveByTokenHash.first({ tokenHash, now });
      if (!row) return undefined;
      const { account_id, email, role, disabled_at, user_created_at, ...session } = row;
      found = { session, user: { id: session.user_id, account_id, email, role, disabled_at, created_at: user_created_at } };
      this.recent.set(tokenHash, found, now, stamp);
    }
    const session = found.session;
    if (session.last_used_at === null || now - session.last_used_at > TOUCH_INTERVAL_MS) {
      session.last_used_at = now;
      await this.db.updateTable("sessions").set({ last_used_at: now }).where("id", "=", session.id).execute();
    }
    return { session: { ...session }, user: found.user };
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

  async listLiveFor(userId: string): Promise<SessionRow[]> {
    const now = Date.now();
    return this.db
      .selectFrom("sessions")
      .selectAll()
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .orderBy("created_at", "asc")
      .orderBy("id", "asc")
      .execute();
  }

  async revokeAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    return this.revokeLive({ userId, except: options.except });
  }

  async revoke(sessionId: string): Promise<boolean> {
    return (await this.revokeLive({ sessionId })) > 0;
  }

  private async revokeLive(which: { sessionId?: string; userId?: string; except?: string | undefined }): Promise<number> {
    const now = monotonicNow();
    let query = this.db
      .updateTable("sessions")
      .set({ revoked_at: now })
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]));
    if (which.sessionId !== undefined) query = query.where("id", "=", which.sessionId);
    if (which.userId !== undefined) query = query.where("user_id", "=", which.userId);
    if (which.except !== undefined) query = query.where("id", "!=", which.except);
    const result = await query.executeTakeFirst();
    // After the write: a lookup racing it may not cache the session as still live.
    this.runner.sessionEndings.count++;
    return Number(result.numUpdatedRows);
  }
}
