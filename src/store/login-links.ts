import type { Kysely } from "kysely";
import { monotonicNow } from "./clock.ts";
import { hashToken, newId, newSessionToken } from "./ids.ts";
import type { Database, LoginLinkRow, UserRow } from "./schema.ts";

/** Why a login link could not be used; an unknown token and a used one read the same to a guesser. */
export type LoginLinkRefusal = "unknown" | "used" | "expired" | "user_disabled";

export type ConsumedLoginLink = { ok: true; link: LoginLinkRow; user: UserRow } | { ok: false; reason: LoginLinkRefusal };

/** One-time sign-in links for browsers. Only the token's hash is stored, as for sessions. */
export class LoginLinkStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a link for the user, valid for `ttlMs`; returns the token to put in the URL. */
  async create(userId: string, options: { agentId: string | null; ttlMs: number }): Promise<{ link: LoginLinkRow; token: string }> {
    const token = newSessionToken();
    const now = monotonicNow();
    const link: LoginLinkRow = {
      id: newId("login_link"),
      user_id: userId,
      token_hash: hashToken(token),
      agent_id: options.agentId,
      created_at: now,
      expires_at: now + options.ttlMs,
      used_at: null,
    };
    await this.db.insertInto("login_links").values(link).execute();
    return { link, token };
  }

  /** Marks the link used, exactly once: of two concurrent openings only one succeeds. */
  async consume(token: string): Promise<ConsumedLoginLink> {
    return this.db.transaction().execute(async (trx): Promise<ConsumedLoginLink> => {
      const link = await trx.selectFrom("login_links").selectAll().where("token_hash", "=", hashToken(token)).executeTakeFirst();
      if (!link) return { ok: false, reason: "unknown" };
      if (link.used_at !== null) return { ok: false, reason: "used" };
      const now = Date.now();
      if (link.expires_at <= now) return { ok: false, reason: "expired" };
      const user = await trx.selectFrom("users").selectAll().where("id", "=", link.user_id).executeTakeFirst();
      if (!user || user.disabled_at !== null) return { ok: false, reason: "user_disabled" };
      const marked = await trx
        .updateTable("login_links")
        .set({ used_at: now })
        .where("id", "=", link.id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      if (marked.numUpdatedRows === 0n) return { ok: false, reason: "used" };
      return { ok: true, link: { ...link, used_at: now }, user };
    });
  }
}
