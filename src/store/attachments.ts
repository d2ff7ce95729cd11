import type { Kysely, Transaction } from "kysely";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { AttachmentRow, AttachmentStore, Owner } from "./contract.ts";
import { addStoredBytes, subtractDeletedBytes } from "./quotas.ts";
import type { Database } from "./schema.ts";

export class SqlAttachmentStore implements AttachmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A two-phase attachment (`attachments.create`): a pending row until its bytes arrive. */
  async create(owner: Owner, fields: { name: string; mime_type: string; size_bytes: number }): Promise<AttachmentRow> {
    return this.insert(this.db, owner, { ...fields, id: newId("attachment"), status: "pending", uploaded_at: null });
  }

  /** A direct upload whose bytes are already stored under `id`: ready at once. */
  async createUploaded(owner: Owner, fields: { id: string; name: string; mime_type: string; size_bytes: number }, reservationId?: string): Promise<AttachmentRow> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.insert(trx, owner, { ...fields, status: "ready", uploaded_at: monotonicNow() });
      await countStored(trx, owner.userId, fields.size_bytes, reservationId);
      return row;
    });
  }

  private async insert(
    db: Kysely<Database> | Transaction<Database>,
    owner: Owner,
    fields: Pick<AttachmentRow, "id" | "name" | "mime_type" | "size_bytes" | "status" | "uploaded_at">,
  ): Promise<AttachmentRow> {
    const row: AttachmentRow = {
      ...fields,
      account_id: owner.accountId,
      user_id: owner.userId,
      thread_id: null,
      item_id: null,
      created_at: monotonicNow(),
    };
    await db.insertInto("attachments").values(row).execute();
    return row;
  }

  async get(owner: Owner, attachmentId: string): Promise<AttachmentRow | undefined> {
    return this.db
      .selectFrom("attachments")
      .selectAll()
      .where("id", "=", attachmentId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .executeTakeFirst();
  }

  /**
   * An attachment by id alone, for a signed preview link: there the HMAC over the id, checked
   * before this is called, is the proof of access. Every other read goes through `get`.
   */
  async getForSignedLink(attachmentId: string): Promise<AttachmentRow | undefined> {
    return this.db.selectFrom("attachments").selectAll().where("id", "=", attachmentId).executeTakeFirst();
  }

  /**
   * The owner's attachments among `ids` that can go with a message (bytes uploaded), in the order
   * asked for; unknown, foreign and still-pending ids are left out.
   */
  async getMany(owner: Owner, ids: string[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("attachments")
      .selectAll()
      .where("id", "in", ids)
      .where("status", "=", "ready")
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Claims a pending attachment for one upload (pending → uploading), atomically, so two
   * concurrent uploads cannot both write its bytes. Returns whether this caller got it.
   */
  async claimForUpload(owner: Owner, attachmentId: string): Promise<boolean> {
    return this.moveStatus(owner, attachmentId, "pending", "uploading");
  }

  /** Gives a claimed attachment back (uploading → pending) after a refused or broken upload. */
  async releaseUpload(owner: Owner, attachmentId: string): Promise<void> {
    await this.moveStatus(owner, attachmentId, "uploading", "pending");
  }

  private async moveStatus(owner: Owner, attachmentId: string, from: AttachmentRow["status"], to: AttachmentRow["status"]): Promise<boolean> {
    const result = await this.db
      .updateTable("attachments")
      .set({ status: to })
      .where("id", "=", attachmentId)
      .where("status", "=", from)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Completes a claimed upload (uploading → ready); undefined when the row is gone (deleted meanwhile). */
  async markUploaded(owner: Owner, attachmentId: string, sizeBytes: number, reservationId?: string): Promise<AttachmentRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("attachments")
        .set({ status: "ready", size_bytes: sizeBytes, uploaded_at: monotonicNow() })
        .where("id", "=", attachmentId)
        .where("status", "=", "uploading")
        .where("user_id", "=", owner.userId)
        .where("account_id", "=", owner.accountId)
        .returningAll()
        .executeTakeFirst();
      await countStored(trx, owner.userId, row ? sizeBytes : 0, reservationId);
      return row;
    });
  }

  /**
   * Links attachments (checked with `getMany` first) to the user message that carries them. An
   * attachment belongs to one message only: ones already linked are left alone. Returns how many
   * were linked.
   */
  /** `db`: the caller's transaction, when the item is stored in it. */
  async linkToItem(owner: Owner, ids: string[], threadId: string, itemId: string, db: Kysely<Database> = this.db): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await db
      .updateTable("attachments")
      .set({ thread_id: threadId, item_id: itemId })
      .where("id", "in", ids)
      .where("item_id", "is", null)
      .where("user_id", "=", owner.userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * After a crash: uploads that were receiving bytes (claimed, never completed) go back to
   * pending so the client can send them again. Only safe before the server takes requests.
   */
  async releaseInterruptedUploads(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      // Their reservations too: no upload is in flight on a server that has not started yet.
      await trx.deleteFrom("upload_reservations").execute();
      const result = await trx.updateTable("attachments").set({ status: "pending" }).where("status", "=", "uploading").executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /** Deletes the owner's attachment row; returns whether one was deleted. */
  async delete(owner: Owner, attachmentId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom("attachments")
        .where("id", "=", attachmentId)
        .where("user_id", "=", owner.userId)
        .where("account_id", "=", owner.accountId)
        .returning(["user_id", "size_bytes", "status"])
        .execute();
      await subtractDeletedBytes(trx, deleted);
      return deleted.length > 0;
    });
  }

  async deleteUnsentBefore(cutoff: number): Promise<string[]> {
    // One statement: a row sent with a message meanwhile no longer matches, and of several
    // servers sweeping at once each deleted row is returned to one of them only.
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .deleteFrom("attachments")
        .where("thread_id", "is", null)
        .where("created_at", "<", cutoff)
        .returning(["id", "user_id", "size_bytes", "status"])
        .execute();
      await subtractDeletedBytes(trx, rows);
      return rows.map((row) => row.id);
    });
  }
}

/** A stored upload's bytes join the user's counter and its reservation is given back, in the transaction that stores it. */
async function countStored(trx: Transaction<Database>, userId: string, bytes: number, reservationId: string | undefined): Promise<void> {
  await addStoredBytes(trx, userId, bytes);
  if (reservationId) await trx.deleteFrom("upload_reservations").where("id", "=", reservationId).execute();
}
