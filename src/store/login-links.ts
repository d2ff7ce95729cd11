import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { hashToken, newId, newSessionToken } from "../core/ids.ts";
import type { ConsumedLoginLink, LoginLinkRow, LoginLinkStore } from "./contract.ts";
import type { Database } from "./schema.ts";

/** One-time sign-in links for browsers. Only the token's hash is stored, as for sessions. */
export class SqlLoginLinkStore implements LoginLinkStore {
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

  /** Whether the link would sign in now, without using it up (for asking the person to confirm). */
  async check(token: string): Promise<ConsumedLoginLink> {
    return findUsableLink(this.db, token, Date.now());
  }

  /** Marks the link used, exactly once: of two concurrent openings only one succeeds. */
  async consume(token: string): Promise<ConsumedLoginLink> {
    return this.db.transaction().execute(async (trx): Promise<ConsumedLoginLink> => {
      const now = Date.now();
      const usable = await findUsableLink(trx, token, now);
      if (!usable.ok) return usable;
      const marked = await trx
        .updateTable("login_links")
        .set({ used_at: now })
        .where("id", "=", usable.link.id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      if (marked.numUpdatedRows === 0n) return { ok: false, reason: "used" };
      return { ok: true, link: { ...usable.link, used_at: now }, user: usable.user };
    });
  }
}

/** The link and its user when the link is known, unused, unexpired at `now` and its user enabled. */
async function findUsableLink(db: Kysely<Database>, token: string, now: number): Promise<ConsumedLoginLink> {
  const link = await db.selectFrom("login_links").selectAll().where("token_hash", "=", hashToken(token)).executeTakeFirst();
  if (!link) return { ok: false, reason: "unknown" };
  if (link.used_at !== null) return { ok: false, reason: "used" };
  if (link.expires_at <= now) return { ok: false, reason: "expired" };
  const user = await db.selectFrom("users").selectAll().where("id", "=", link.user_id).executeTakeFirst();
  if (!user || user.disabled_at !== null) return { ok: false, reason: "user_disabled" };
  return { ok: true, link, user };
}
