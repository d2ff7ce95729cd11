import type { ExpressionBuilder, Kysely } from "kysely";
import { HIDDEN_ITEM_TYPES, type FeedbackKind, type ThreadItem } from "../protocol/items.ts";
import { monotonicNow } from "../core/clock.ts";
import type { Owner } from "./owner.ts";
import { keysetPage, type PageRequest, type PageResult } from "./pagination.ts";
import type { Database, ThreadItemRow } from "./schema.ts";

function rowOf(item: ThreadItem): ThreadItemRow {
  return { id: item.id, thread_id: item.thread_id, type: item.type, created_at: Date.parse(item.created_at), data: JSON.stringify(item) };
}

/**
 * Thread items, stored as their full protocol JSON. Every query is confined to a thread the
 * owner holds, so a guessed thread or item id from another user matches nothing.
 */
export class ItemStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `thread_id = ? AND EXISTS (the owner's thread)`: the equality lets the planner walk the
   * (thread_id, created_at, id) index; the uncorrelated EXISTS is checked once per query.
   */
  private inOwnedThread(eb: ExpressionBuilder<Database, "thread_items">, owner: Owner, threadId: string) {
    return eb.and([eb("thread_items.thread_id", "=", threadId), eb.exists(this.ownedThread(owner, threadId))]);
  }

  private ownedThread(owner: Owner, threadId: string) {
    return this.db
      .selectFrom("threads")
      .select("id")
      .where("id", "=", threadId)
      .where("user_id", "=", owner.userId)
      .where("account_id", "=", owner.accountId);
  }

  /** Inserts a new item; its `created_at` orders it within the thread. */
  async add(owner: Owner, item: ThreadItem): Promise<void> {
    await this.assertOwned(owner, item.thread_id);
    await this.db.insertInto("thread_items").values(rowOf(item)).execute();
    await this.bumpThread(item.thread_id);
  }

  /** Inserts or replaces an item by id (protocol `save_item`). */
  async save(owner: Owner, item: ThreadItem): Promise<void> {
    await this.assertOwned(owner, item.thread_id);
    const row = rowOf(item);
    await this.db
      .insertInto("thread_items")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet({ type: row.type, data: row.data }).where("thread_items.thread_id", "=", row.thread_id))
      .execute();
    await this.bumpThread(item.thread_id);
  }

  async get(owner: Owner, threadId: string, itemId: string): Promise<ThreadItem | undefined> {
    const row = await this.db
      .selectFrom("thread_items")
      .select("data")
      .where("id", "=", itemId)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .executeTakeFirst();
    return row ? (JSON.parse(row.data) as ThreadItem) : undefined;
  }

  /** A page of the thread's items; hidden items are left out unless asked for. */
  async list(owner: Owner, threadId: string, page: PageRequest & { includeHidden?: boolean }): Promise<PageResult<ThreadItem>> {
    let query = this.db
      .selectFrom("thread_items")
      .select(["id", "created_at", "data"])
      .where((eb) => this.inOwnedThread(eb, owner, threadId));
    if (!page.includeHidden) query = query.where("type", "not in", [...HIDDEN_ITEM_TYPES]);
    const cursor = page.after
      ? await this.db
          .selectFrom("thread_items")
          .select("created_at")
          .where("id", "=", page.after)
          .where((eb) => this.inOwnedThread(eb, owner, threadId))
          .executeTakeFirst()
      : undefined;
    const result = await keysetPage(query, page, cursor?.created_at);
    return { rows: result.rows.map((row) => JSON.parse(row.data) as ThreadItem), hasMore: result.hasMore };
  }

  /** Every item of the thread, oldest first, hidden ones included: the model's view. */
  async history(owner: Owner, threadId: string): Promise<ThreadItem[]> {
    const rows = await this.db
      .selectFrom("thread_items")
      .select("data")
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .orderBy("created_at", "asc")
      .orderBy("id", "asc")
      .execute();
    return rows.map((row) => JSON.parse(row.data) as ThreadItem);
  }

  async delete(owner: Owner, threadId: string, itemId: string): Promise<void> {
    await this.db
      .deleteFrom("thread_items")
      .where("id", "=", itemId)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .execute();
  }

  /** Deletes every item created after `itemId` (retry); returns the deleted items' ids and types, oldest first. */
  async deleteAfter(owner: Owner, threadId: string, itemId: string): Promise<Array<{ id: string; type: string }>> {
    const pivot = await this.db
      .selectFrom("thread_items")
      .select(["id", "created_at"])
      .where("id", "=", itemId)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .executeTakeFirst();
    if (!pivot) return [];
    return this.db.transaction().execute(async (trx) => {
      const newer = await trx
        .selectFrom("thread_items")
        .select(["id", "type"])
        .where("thread_id", "=", threadId)
        .where((eb) =>
          eb.or([eb("created_at", ">", pivot.created_at), eb.and([eb("created_at", "=", pivot.created_at), eb("id", ">", pivot.id)])]),
        )
        .orderBy("created_at", "asc")
        .orderBy("id", "asc")
        .execute();
      const ids = newer.map((row) => row.id);
      if (ids.length > 0) {
        await trx.deleteFrom("item_feedback").where("item_id", "in", ids).execute();
        await trx.deleteFrom("thread_items").where("id", "in", ids).execute();
      }
      return newer;
    });
  }

  /**
   * Records feedback on items of the owner's thread (one verdict per user and item, the latest
   * wins). Returns false, storing nothing, if any item is not in that thread.
   */
  async addFeedback(owner: Owner, threadId: string, itemIds: string[], kind: FeedbackKind): Promise<boolean> {
    const unique = [...new Set(itemIds)];
    const found = await this.db
      .selectFrom("thread_items")
      .select("id")
      .where("id", "in", unique)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .execute();
    if (found.length !== unique.length) return false;
    const now = monotonicNow();
    await this.db
      .insertInto("item_feedback")
      .values(unique.map((id) => ({ item_id: id, user_id: owner.userId, thread_id: threadId, kind, created_at: now })))
      .onConflict((oc) => oc.columns(["item_id", "user_id"]).doUpdateSet((eb) => ({ kind: eb.ref("excluded.kind"), created_at: now })))
      .execute();
    return true;
  }

  private async assertOwned(owner: Owner, threadId: string): Promise<void> {
    const thread = await this.ownedThread(owner, threadId).executeTakeFirst();
    if (!thread) throw new Error(`thread ${threadId} is not the owner's`);
  }

  private async bumpThread(threadId: string): Promise<void> {
    await this.db.updateTable("threads").set({ updated_at: monotonicNow() }).where("id", "=", threadId).execute();
  }
}
