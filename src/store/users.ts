import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { UserRole, UserRow, UserStore, WhichUser } from "./contract.ts";
import type { QueryRunner } from "./prepared.ts";
import type { Database } from "./schema.ts";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Thrown inside findOrCreate's transaction to roll back its account when another caller won. */
class EmailTaken extends Error {}

export class SqlUserStore implements UserStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly runner: QueryRunner) {
    this.db = runner.db;
  }

  async findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("email", "=", normalizeEmail(email)).executeTakeFirst();
  }

  async findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findOrCreate(email: string): Promise<{ user: UserRow; created: boolean }> {
    const normalized = normalizeEmail(email);
    const existing = await this.findByEmail(normalized);
    if (existing) return { user: existing, created: false };
    try {
      const user = await this.db.transaction().execute(async (trx) => {
        const now = monotonicNow();
        const accountId = newId("account");
        await trx.insertInto("accounts").values({ id: accountId, name: normalized, created_at: now }).execute();
        // A concurrent caller (this or another server) may insert the same email meanwhile: the
        // unique index makes one of us insert nothing, and that one takes the winner's user.
        const inserted = await trx
          .insertInto("users")
          .values({ id: newId("user"), account_id: accountId, email: normalized, role: "user", created_at: now, disabled_at: null })
          .onConflict((oc) => oc.column("email").doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!inserted) throw new EmailTaken();
        return inserted;
      });
      return { user, created: true };
    } catch (error) {
      if (!(error instanceof EmailTaken)) throw error;
      const winner = await this.findByEmail(normalized);
      if (!winner) throw new Error(`user ${normalized} was created and deleted at once`);
      return { user: winner, created: false };
    }
  }

  async list(): Promise<UserRow[]> {
    return this.db.selectFrom("users").selectAll().orderBy("created_at", "asc").orderBy("id", "asc").execute();
  }

  async setDisabled(who: WhichUser, disabled: boolean): Promise<UserRow | undefined> {
    const user = await this.update(who, { disabled_at: disabled ? monotonicNow() : null });
    // After the write: a lookup racing it may not keep the user's sign-ins as still live.
    this.runner.sessionEndings.count++;
    return user;
  }

  async setRole(who: WhichUser, role: UserRole): Promise<UserRow | undefined> {
    const user = await this.update(who, { role });
    // Sign-ins kept for a moment carry the user's role: an admin demoted is one no longer.
    this.runner.sessionEndings.count++;
    return user;
  }

  private async update(who: WhichUser, changes: Partial<Pick<UserRow, "disabled_at" | "role">>): Promise<UserRow | undefined> {
    const query = this.db.updateTable("users").set(changes);
    const where = "id" in who ? query.where("id", "=", who.id) : query.where("email", "=", normalizeEmail(who.email));
    return where.returningAll().executeTakeFirst();
  }
}
