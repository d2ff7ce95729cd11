import type { Kysely, Transaction } from "kysely";
import type { ThreadStatus } from "../protocol/items.ts";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { Owner, PageRequest, PageResult, ThreadChanges, ThreadRow, ThreadStore } from "./contract.ts";
import { keysetPage } from "./pagination.ts";
import type { Database, ThreadRecord } from "./schema.ts";

/** A threads row as callers see it: status and metadata parsed. */
function decodeThread(row: ThreadRecord): ThreadRow {
  return { ...row, status: JSON.parse(row.status) as ThreadStatus, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/**
 * Marks the owner's thread as changed now and, in a transaction, locks its row until commit
 * (PostgreSQL row lock; SQLite has one writer at a time anyway), so writers to one thread take
 * turns. Returns whether the thread is the owner's. Every write to a thread's items starts here.
 */
export async function lockOwnedThread(trx: Transaction<Database>, owner: Owner, threadId: string): Promise<boolean> {
  const result = await trx
    .updateTable("threads")
    .set({ updated_at: monotonicNow() })
    .where("id", "=", threadId)
    .where("user_id", "=", owner.userId)
    .where("account_id", "=", owner.accountId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export class SqlThreadStore implements ThreadStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(owner: Owner, agentId: string, title: string | null = null): Promise<ThreadRow> {
    const now = monotonicNow();
    const row: ThreadRecord = {
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
    return decodeThread(row);
  }

  private owned(owner: Owner, agentId?: string) {
    let query = this.db.selectFrom("threads").selectAll().where("user_id", "=", owner.userId).where("account_id", "=", owner.accountId);
    if (agentId) query = query.where("agent_id", "=", agentId);
    return query;
  }

  async get(owner: Owner, threadId: string, agentId?: string): Promise<ThreadRow | undefined> {
    const row = await this.owned(owner, agentId).where("id", "=", threadId).executeTakeFirst();
    return row && decodeThread(row);
  }

  async list(owner: Owner, page: PageRequest & { agentId?: string | undefined }): Promise<PageResult<ThreadRow>> {
    const cursor = page.after ? await this.get(owner, page.after, page.agentId) : undefined;
    const result = await keysetPage(this.owned(owner, page.agentId), page, {
      columns: ["created_at", "id"],
      cursor: cursor && [cursor.created_at, cursor.id],
    });
    return { rows: result.rows.map(decodeThread), hasMore: result.hasMore };
  }

  async update(owner: Owner, threadId: string, changes: ThreadChanges): Promise<ThreadRow | undefined> {
    const set: Partial<ThreadRecord> = { updated_at: monotonicNow() };
    if (changes.title !== undefined) set.title = changes.title;
    if (changes.status !== undefined) set.status = JSON.stringify(changes.status);
    if (changes.metadata !== undefined) set.metadata = JSON.stringify(changes.metadata);
    const row = await this.db
      .updateTable("threads")
      .set(set)
      .where("id", "=", threadId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId)
      .returningAll()
      .executeTakeFirst();
    return row && decodeThread(row);
  }

  async delete(owner: Owner, threadId: string): Promise<{ attachmentIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // Locked first: an item or attachment added on another server meanwhile waits, then finds no thread.
      if (!(await lockOwnedThread(trx, owner, threadId))) return undefined;
      const attachments = await trx.deleteFrom("attachments").where("thread_id", "=", threadId).returning("id").execute();
      await trx.deleteFrom("item_feedback").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("thread_items").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("threads").where("id", "=", threadId).execute();
      return { attachmentIds: attachments.map((a) => a.id) };
    });
  }
}
