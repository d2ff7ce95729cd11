import type { Kysely } from "kysely";
import type { AttachmentRow, UserDataStore } from "./contract.ts";
import type { QueryRunner } from "./prepared.ts";
import type { Database } from "./schema.ts";

export class SqlUserDataStore implements UserDataStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly runner: QueryRunner) {
    this.db = runner.db;
  }

  async attachmentsOf(userId: string): Promise<AttachmentRow[]> {
    return this.db.selectFrom("attachments").selectAll().where("user_id", "=", userId).orderBy("created_at", "asc").orderBy("id", "asc").execute();
  }

  async unsentUploads(): Promise<{ count: number; bytes: number }> {
    const row = await this.db
      .selectFrom("attachments")
      .select((eb) => [eb.fn.countAll().as("count"), eb.fn.sum("size_bytes").as("bytes")])
      .where("thread_id", "is", null)
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), bytes: Number(row.bytes ?? 0) };
  }

  async lastSeen(): Promise<Array<{ user_id: string; last_seen: number | null }>> {
    const rows = await this.db
      .selectFrom("sessions")
      .select((eb) => ["user_id", eb.fn.max("last_used_at").as("last_seen")])
      .groupBy("user_id")
      .execute();
    return rows.map((row) => ({ user_id: row.user_id, last_seen: row.last_seen === null ? null : Number(row.last_seen) }));
  }

  async deleteUser(userId: string): Promise<{ attachmentIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom("users").select(["id", "account_id"]).where("id", "=", userId).executeTakeFirst();
      if (!user) return undefined;
      const threads = trx.selectFrom("threads").select("id").where("user_id", "=", userId);
      const attachments = await trx.deleteFrom("attachments").where("user_id", "=", userId).returning("id").execute();
      await trx.deleteFrom("item_feedback").where((eb) => eb.or([eb("user_id", "=", userId), eb("thread_id", "in", threads)])).execute();
      await trx.deleteFrom("thread_items").where("thread_id", "in", threads).execute();
      await trx.deleteFrom("threads").where("user_id", "=", userId).execute();
      for (const table of ["sessions", "login_links", "identities", "usage_events", "usage_totals", "user_storage", "upload_reservations", "user_quotas"] as const) {
        await trx.deleteFrom(table).where("user_id", "=", userId).execute();
      }
      await trx.deleteFrom("users").where("id", "=", userId).execute();
      // Each user has an account of their own (see findOrCreate); another user on it keeps it.
      const others = await trx.selectFrom("users").select("id").where("account_id", "=", user.account_id).executeTakeFirst();
      if (!others) await trx.deleteFrom("accounts").where("id", "=", user.account_id).execute();
      return { attachmentIds: attachments.map((row) => row.id) };
    }).finally(() => {
      // Their sessions end with them: sign-ins this process trusted for a moment are dropped.
      this.runner.sessionEndings.count++;
    });
  }
}
