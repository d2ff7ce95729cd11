import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { IdentityRow, IdentityStore, SignInClaim, SignInResult, UserRow } from "./contract.ts";
import { PreparedQuery, type QueryRunner } from "./prepared.ts";
import { RecentSignIns } from "./recent.ts";
import type { Database } from "./schema.ts";
import { TOUCH_INTERVAL_MS } from "./sessions.ts";
import { normalizeEmail, type SqlUserStore } from "./users.ts";

const PROVIDER = /^(email-link|proxy|(oidc|jwt):\S+)$/;

interface Linked {
  identity: IdentityRow;
  user: UserRow;
}

/** Users' ways in. Every app-issued token's request signs in through here, so a found identity is kept a moment (see `RecentSignIns`). */
export class SqlIdentityStore implements IdentityStore {
  private readonly db: Kysely<Database>;
  private readonly linkedBySubject;
  private readonly recent: RecentSignIns<Linked>;

  constructor(
    runner: QueryRunner,
    private readonly users: SqlUserStore,
  ) {
    this.db = runner.db;
    this.recent = new RecentSignIns(runner);
    this.linkedBySubject = new PreparedQuery(runner, (v: { provider: string; subject: string }) =>
      this.db
        .selectFrom("identities")
        .innerJoin("users", "users.id", "identities.user_id")
        .selectAll("identities")
        .select(["users.account_id", "users.email as user_email", "users.role", "users.disabled_at", "users.created_at as user_created_at"])
        .where("identities.provider", "=", v.provider)
        .where("identities.subject", "=", v.subject),
    );
  }

  async signIn(claim: SignInClaim): Promise<SignInResult> {
    if (!PROVIDER.test(claim.provider)) throw new Error(`unknown sign-in provider "${claim.provider}"`);
    if (claim.subject === "") throw new Error("a sign-in needs the provider's subject");
    const now = Date.now();
    const key = `${claim.provider}\u0000${claim.subject}`;
    const stamp = this.recent.stamp();
    let linked = this.recent.get(key, now, stamp);
    if (!linked) {
      linked = await this.findLinked(claim);
      if (linked) this.recent.set(key, linked, now, stamp);
    }
    if (linked) {
      if (linked.user.disabled_at !== null) return { refused: "disabled" };
      await this.touch(linked.identity, claim, now);
      return { user: linked.user, created: false };
    }

    const email = claim.email === null ? "" : normalizeEmail(claim.email);
    // An unverified address must not claim an account: its real owner would later sign in to it.
    if (email === "" || !claim.emailVerified) return { refused: "no_email" };
    const { user, created } = await this.users.findOrCreate(email);
    if (user.disabled_at !== null) return { refused: "disabled" };
    await this.db
      .insertInto("identities")
      .values({ id: newId("identity"), user_id: user.id, provider: claim.provider, subject: claim.subject, email, created_at: monotonicNow(), last_used_at: now })
      .onConflict((oc) => oc.columns(["provider", "subject"]).doNothing())
      .execute();
    // A concurrent sign-in of the same identity may have linked it first: the stored link wins.
    const stored = await this.findLinked(claim);
    if (!stored) throw new Error(`identity ${claim.provider} was linked and removed at once`);
    if (stored.user.disabled_at !== null) return { refused: "disabled" };
    return { user: stored.user, created: created && stored.user.id === user.id };
  }

  async listFor(userId: string): Promise<IdentityRow[]> {
    return this.db.selectFrom("identities").selectAll().where("user_id", "=", userId).orderBy("created_at", "asc").orderBy("id", "asc").execute();
  }

  private async findLinked(claim: SignInClaim): Promise<Linked | undefined> {
    const row = await this.linkedBySubject.first({ provider: claim.provider, subject: claim.subject });
    if (!row) return undefined;
    const { account_id, user_email, role, disabled_at, user_created_at, ...identity } = row;
    return { identity, user: { id: identity.user_id, account_id, email: user_email, role, disabled_at, created_at: user_created_at } };
  }

  /** Notes the use (at most once a minute) and the address the provider gives now. */
  private async touch(identity: IdentityRow, claim: SignInClaim, now: number): Promise<void> {
    const email = claim.email === null ? null : normalizeEmail(claim.email);
    const emailChanged = email !== null && email !== identity.email;
    if (!emailChanged && identity.last_used_at !== null && now - identity.last_used_at <= TOUCH_INTERVAL_MS) return;
    identity.last_used_at = now;
    if (email !== null) identity.email = email;
    await this.db.updateTable("identities").set({ last_used_at: now, email: identity.email }).where("id", "=", identity.id).execute();
  }
}
