import type { Kysely, Transaction } from "kysely";
import { newId } from "../core/ids.ts";
import type { QuotaOverrides, QuotaStore, ReservationRefusal } from "./contract.ts";
import type { Database } from "./schema.ts";

type Db = Kysely<Database> | Transaction<Database>;

/** Adds (or, negative, takes) bytes to a user's stored-bytes counter; inside the transaction that stores or deletes them. */
export async function addStoredBytes(db: Db, userId: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await db
    .insertInto("user_storage")
    .values({ user_id: userId, stored_bytes: Math.max(0, bytes) })
    .onConflict((oc) => oc.column("user_id").doUpdateSet((eb) => ({ stored_bytes: eb("user_storage.stored_bytes", "+", bytes) })))
    .execute();
}

/** Takes deleted ready attachments' bytes off their users' counters. */
export async function subtractDeletedBytes(db: Db, deleted: Array<{ user_id: string; size_bytes: number; status: string }>): Promise<void> {
  const byUser = new Map<string, number>();
  for (const row of deleted) if (row.status === "ready") byUser.set(row.user_id, (byUser.get(row.user_id) ?? 0) + Number(row.size_bytes));
  for (const [userId, bytes] of byUser) await addStoredBytes(db, userId, -bytes);
}

export class SqlQuotaStore implements QuotaStore {
  constructor(private readonly db: Kysely<Database>) {}

  async overrides(userId: string): Promise<QuotaOverrides | undefined> {
    return this.db
      .selectFrom("user_quotas")
      .select(["tokens_per_day", "tokens_per_month", "stored_bytes", "uploads_in_flight"])
      .where("user_id", "=", userId)
      .executeTakeFirst();
  }

  async setOverrides(userId: string, overrides: QuotaOverrides): Promise<void> {
    if (Object.values(overrides).every((value) => value === null)) {
      await this.db.deleteFrom("user_quotas").where("user_id", "=", userId).execute();
      return;
    }
    const row = { user_id: userId, ...overrides, updated_at: Date.now() };
    await this.db
      .insertInto("user_quotas")
      .values(row)
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ ...overrides, updated_at: row.updated_at }))
      .execute();
  }

  async listOverrides(): Promise<Array<QuotaOverrides & { user_id: string }>> {
    return this.db.selectFrom("user_quotas").select(["user_id", "tokens_per_day", "tokens_per_month", "stored_bytes", "uploads_in_flight"]).execute();
  }

  async storedBytes(userId: string): Promise<number> {
    const row = await this.db.selectFrom("user_storage").select("stored_bytes").where("user_id", "=", userId).executeTakeFirst();
    return Number(row?.stored_bytes ?? 0);
  }

  async storageByUser(): Promise<Array<{ user_id: string; stored_bytes: number }>> {
    const rows = await this.db.selectFrom("user_storage").selectAll().execute();
    return rows.map((row) => ({ user_id: row.user_id, stored_bytes: Number(row.stored_bytes) }));
  }

  async reserveUpload(userId: string, bytes: number, limits: { storedBytes: number | null; inFlight: number }, ttlMs: number): Promise<{ ok: true; id: string } | ReservationRefusal> {
    const now = Date.now();
    return this.db.transaction().execute(async (trx) => {
      // The user's counter row, updated to itself, is the lock: a concurrent reservation (on
      // any server) waits here until this one commits, then sees it.
      await trx.insertInto("user_storage").values({ user_id: userId, stored_bytes: 0 }).onConflict((oc) => oc.column("user_id").doNothing()).execute();
      const locked = await trx
        .updateTable("user_storage")
        .set((eb) => ({ stored_bytes: eb.ref("stored_bytes") }))
        .where("user_id", "=", userId)
        .returning("stored_bytes")
        .executeTakeFirstOrThrow();
      await trx.deleteFrom("upload_reservations").where("user_id", "=", userId).where("expires_at", "<=", now).execute();
      // At most `inFlight` live rows: the read is bounded by the limit, not by the user's history.
      const live = await trx.selectFrom("upload_reservations").select(["bytes", "expires_at"]).where("user_id", "=", userId).execute();
      if (live.length >= limits.inFlight) {
        const soonest = Math.min(...live.map((row) => Number(row.expires_at)));
        return { ok: false, reason: "uploads_in_flight", retryAfterMs: Math.max(1000, Math.min(soonest - now, 60_000)) } as const;
      }
      const storedBytes = Number(locked.stored_bytes);
      const reservedBytes = live.reduce((sum, row) => sum + Number(row.bytes), 0);
      if (limits.storedBytes !== null && storedBytes + reservedBytes + bytes > limits.storedBytes) {
        return { ok: false, reason: "stored_bytes", storedBytes, reservedBytes } as const;
      }
      const id = newId("upload_reservation");
      await trx.insertInto("upload_reservations").values({ id, user_id: userId, bytes, expires_at: now + ttlMs }).execute();
      return { ok: true, id } as const;
    });
  }

  async releaseReservation(reservationId: string): Promise<void> {
    await this.db.deleteFrom("upload_reservations").where("id", "=", reservationId).execute();
  }

  async reservations(): Promise<Array<{ user_id: string; bytes: number; expires_at: number }>> {
    const rows = await this.db.selectFrom("upload_reservations").select(["user_id", "bytes", "expires_at"]).where("expires_at", ">", Date.now()).execute();
    return rows.map((row) => ({ user_id: row.user_id, bytes: Number(row.bytes), expires_at: Number(row.expires_at) }));
  }
}
