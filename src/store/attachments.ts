import type { Kysely } from "kysely";
import { monotonicNow } from "./clock.ts";
import { newId } from "./ids.ts";
import type { Owner } from "./owner.ts";
import type { AttachmentRow, Database } from "./schema.ts";

export class AttachmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(owner: Owner, fields: { name: string; mime_type: string; size_bytes: number }): Promise<AttachmentRow> {
    const row: AttachmentRow = {
      id: newId("attachment"),
      account_id: owner.accountId,
      user_id: owner.userId,
      thread_id: null,
      item_id: null,
      name: fields.name,
      mime_type: fields.mime_type,
      size_bytes: fields.size_bytes,
      status: "pending",
      created_at: monotonicNow(),
      uploaded_at: null,
    };
    await this.db.insertInto("attachments").values(row).execute();
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

  /** The owner's attachments among `ids`, in the order asked for; unknown or foreign ids are left out. */
  async getMany(owner: Owner, ids: string[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("attachments")
      .selectAll()
      .where("id", "in", ids)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async markUploaded(owner: Owner, attachmentId: string, sizeBytes: number): Promise<AttachmentRow | undefined> {
    await this.db
      .updateTable("attachments")
      .set({ status: "ready", size_bytes: sizeBytes, uploaded_at: monotonicNow() })
      .where("id", "=", attachmentId)
      .where("user_id", "=", owner.userId)
      .execute();
    return this.get(owner, attachmentId);
  }

  /** Links attachments to the user message that carries them. */
  async linkToItem(owner: Owner, ids: string[], threadId: string, itemId: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable("attachments")
      .set({ thread_id: threadId, item_id: itemId })
      .where("id", "in", ids)
      .where("user_id", "=", owner.userId)
      .execute();
  }

  /** Deletes the owner's attachment row; returns whether one was deleted. */
  async delete(owner: Owner, attachmentId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("attachments")
      .where("id", "=", attachmentId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Removes rows of uploads never sent with a message and older than `cutoff`; returns their ids. */
  async deleteUnsentBefore(cutoff: number): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const stale = await trx
        .selectFrom("attachments")
        .select("id")
        .where("thread_id", "is", null)
        .where("created_at", "<", cutoff)
        .execute();
      const ids = stale.map((row) => row.id);
      if (ids.length > 0) await trx.deleteFrom("attachments").where("id", "in", ids).execute();
      return ids;
    });
  }
}
