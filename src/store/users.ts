import type { Kysely } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { Database, UserRow } from "./schema.ts";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("email", "=", normalizeEmail(email)).executeTakeFirst();
  }

  async findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** The user with this email, created together with an account of its own when missing. */
  async findOrCreate(email: string): Promise<{ user: UserRow; created: boolean }> {
    const normalized = normalizeEmail(email);
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom("users").selectAll().where("email", "=", normalized).executeTakeFirst();
      if (existing) return { user: existing, created: false };
      const now = monotonicNow();
      const accountId = newId("account");
      await trx.insertInto("accounts").values({ id: accountId, name: normalized, created_at: now }).execute();
      const user: UserRow = { id: newId("user"), account_id: accountId, email: normalized, created_at: now, disabled_at: null };
      await trx.insertInto("users").values(user).execute();
      return { user, created: true };
    });
  }

  async list(): Promise<UserRow[]> {
    return this.db.selectFrom("users").selectAll().orderBy("created_at", "asc").execute();
  }

  /** Disables (or re-enables) a user; a disabled user's sessions stop working at once. */
  async setDisabled(email: string, disabled: boolean): Promise<UserRow | undefined> {
    await this.db
      .updateTable("users")
      .set({ disabled_at: disabled ? monotonicNow() : null })
      .where("email", "=", normalizeEmail(email))
      .execute();
    return this.findByEmail(email);
  }
}
