import type { Kysely } from "kysely";
import type { ThreadStatus } from "../protocol/items.ts";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { Owner } from "./owner.ts";
import { keysetPage, type PageRequest, type PageResult } from "./pagination.ts";
import type { Database, ThreadRow } from "./schema.ts";

export interface ThreadChanges {
  title?: string | null;
  status?: ThreadStatus;
  metadata?: Record<string, unknown>;
}

export class ThreadStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(owner: Owner, agentId: string, title: string | null = null): Promise<ThreadRow> {
    const now = monotonicNow();
    const row: ThreadRow = {
      id: newId("thread"),
      account_id: owner.accountId,
      user_id: owner.userId,
      agent_id: agentId,
      title,
      status: JSON.stringify({ type: "active" } satisfies ThreadStatus),
      metadata: "{}",
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto("threads").values(row).execute();
    return row;
  }

  /** The owner's thread, optionally only if it belongs to `agentId`; undefined otherwise. */
  async get(owner: Owner, threadId: string, agentId?: string): Promise<ThreadRow | undefined> {
    let query = this.db
      .selectFrom("threads")
      .selectAll()
      .where("id", "=", threadId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId);
    if (agentId) query = query.where("agent_id", "=", agentId);
    return query.executeTakeFirst();
  }

  async list(owner: Owner, page: PageRequest & { agentId?: string | undefined }): Promise<PageResult<ThreadRow>> {
    let query = this.db
      .selectFrom("threads")
      .selectAll()
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId);
    if (page.agentId) query = query.where("agent_id", "=", page.agentId);
    const cursor = page.after ? await this.get(owner, page.after, page.agentId) : undefined;
    return keysetPage(query, page, cursor?.created_at);
  }

  /** Applies changes and bumps updated_at; returns the new row, or undefined if not the owner's. */
  async update(owner: Owner, threadId: string, changes: ThreadChanges): Promise<ThreadRow | undefined> {
    const set: Partial<ThreadRow> = { updated_at: monotonicNow() };
    if (changes.title !== undefined) set.title = changes.title;
    if (changes.status !== undefined) set.status = JSON.stringify(changes.status);
    if (changes.metadata !== undefined) set.metadata = JSON.stringify(changes.metadata);
    await this.db
      .updateTable("threads")
      .set(set)
      .where("id", "=", threadId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .execute();
    return this.get(owner, threadId);
  }

  /** Marks the thread active now (a new turn), so it sorts by recent activity where asked. */
  async touch(owner: Owner, threadId: string): Promise<void> {
    await this.db
      .updateTable("threads")
      .set({ updated_at: monotonicNow() })
      .where("id", "=", threadId)
      .where("user_id", "=", owner.userId)
      .execute();
  }

  /**
   * Deletes the thread with its items, feedback and attachment rows, in one transaction.
   * Returns the ids of the attachments whose files the caller must now remove, or undefined
   * when the thread is not the owner's.
   */
  async delete(owner: Owner, threadId: string): Promise<{ attachmentIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const thread = await trx
        .selectFrom("threads")
        .select("id")
        .where("id", "=", threadId)
        .where("user_id", "=", owner.userId)
        .where("account_id", "=", owner.accountId)
        .executeTakeFirst();
      if (!thread) return undefined;
      const attachments = await trx.selectFrom("attachments").select("id").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("attachments").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("item_feedback").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("thread_items").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("threads").where("id", "=", threadId).execute();
      return { attachmentIds: attachments.map((a) => a.id) };
    });
  }
}
