import type { ExpressionBuilder, Kysely, Transaction } from "kysely";
import { HIDDEN_ITEM_TYPES, type FeedbackKind, type ThreadItem } from "../protocol/items.ts";
import { monotonicNow } from "../core/clock.ts";
import type { ItemStore, Owner, PageRequest, PageResult } from "./contract.ts";
import { keysetPage } from "./pagination.ts";
import type { Database } from "./schema.ts";
import { lockOwnedThread } from "./threads.ts";

const decodeItem = (row: { data: string }) => JSON.parse(row.data) as ThreadItem;

/**
 * Thread items, stored as their full protocol JSON and ordered by `seq`, the place the database
 * gave each item in its thread. Every query is confined to a thread the owner holds, so a
 * guessed thread or item id from another user matches nothing.
 */
export class SqlItemStore implements ItemStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `thread_id = ? AND EXISTS (the owner's thread)`: the equality lets the planner walk the
   * (thread_id, seq) index; the uncorrelated EXISTS is checked once per query.
   */
  private inOwnedThread(eb: ExpressionBuilder<Database, "thread_items">, owner: Owner, threadId: string) {
    return eb.and([
      eb("thread_items.thread_id", "=", threadId),
      eb.exists(
        this.db
          .selectFrom("threads")
          .select("id")
          .where("id", "=", threadId)
          .where("user_id", "=", owner.userId)
          .where("account_id", "=", owner.accountId),
      ),
    ]);
  }

  /**
   * Stores the item in the owner's thread, appended after its last item when new; with
   * `replace`, an existing item of that id (in that thread) is overwritten and keeps its place.
   * The thread's row lock makes "last item + 1" safe with concurrent writers on any server.
   */
  private async write(owner: Owner, item: ThreadItem, replace: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (!(await lockOwnedThread(trx, owner, item.thread_id))) throw new Error(`thread ${item.thread_id} is not the owner's`);
      const insert = trx.insertInto("thread_items").values({
        id: item.id,
        thread_id: item.thread_id,
        type: item.type,
        created_at: Date.parse(item.created_at),
        seq: await nextSeq(trx, item.thread_id),
        data: JSON.stringify(item),
      });
      await (replace
        ? insert.onConflict((oc) =>
            oc
              .column("id")
              .doUpdateSet((eb) => ({ type: eb.ref("excluded.type"), data: eb.ref("excluded.data") }))
              .where("thread_items.thread_id", "=", item.thread_id),
          )
        : insert
      ).execute();
    });
  }

  async add(owner: Owner, item: ThreadItem): Promise<void> {
    await this.write(owner, item, false);
  }

  async save(owner: Owner, item: ThreadItem): Promise<void> {
    await this.write(owner, item, true);
  }

  async get(owner: Owner, threadId: string, itemId: string): Promise<ThreadItem | undefined> {
    const row = await this.db
      .selectFrom("thread_items")
      .select("data")
      .where("id", "=", itemId)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .executeTakeFirst();
    return row && decodeItem(row);
  }

  async list(owner: Owner, threadId: string, page: PageRequest & { includeHidden?: boolean }): Promise<PageResult<ThreadItem>> {
    let query = this.db
      .selectFrom("thread_items")
      .select(["id", "seq", "data"])
      .where((eb) => this.inOwnedThread(eb, owner, threadId));
    if (!page.includeHidden) query = query.where("type", "not in", [...HIDDEN_ITEM_TYPES]);
    const cursor = page.after
      ? await this.db
          .selectFrom("thread_items")
          .select("seq")
          .where("id", "=", page.after)
          .where((eb) => this.inOwnedThread(eb, owner, threadId))
          .executeTakeFirst()
      : undefined;
    const result = await keysetPage(query, page, { columns: ["seq"], cursor: cursor && [cursor.seq] });
    return { rows: result.rows.map(decodeItem), hasMore: result.hasMore };
  }

  async history(owner: Owner, threadId: string, options: { limit?: number } = {}): Promise<ThreadItem[]> {
    const query = this.db
      .selectFrom("thread_items")
      .select("data")
      .where((eb) => this.inOwnedThread(eb, owner, threadId));
    if (options.limit === undefined) return (await query.orderBy("seq", "asc").execute()).map(decodeItem);
    // Newest first from the (thread_id, seq) index, so a long thread costs no more than a new one.
    const newest = await query.orderBy("seq", "desc").limit(options.limit).execute();
    return newest.reverse().map(decodeItem);
  }

  async delete(owner: Owner, threadId: string, itemId: string): Promise<void> {
    await this.db
      .deleteFrom("thread_items")
      .where("id", "=", itemId)
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .execute();
  }

  async deleteAfter(owner: Owner, threadId: string, itemId: string): Promise<Array<{ id: string; type: string }>> {
    return this.db.transaction().execute(async (trx) => {
      // Locked like a write, so an item appended meanwhile is either deleted here or comes after.
      if (!(await lockOwnedThread(trx, owner, threadId))) return [];
      const pivot = await trx.selectFrom("thread_items").select("seq").where("id", "=", itemId).where("thread_id", "=", threadId).executeTakeFirst();
      if (!pivot) return [];
      const newer = await trx
        .selectFrom("thread_items")
        .select(["id", "type"])
        .where("thread_id", "=", threadId)
        .where("seq", ">", pivot.seq)
        .orderBy("seq", "asc")
        .execute();
      const ids = newer.map((row) => row.id);
      if (ids.length > 0) {
        await trx.deleteFrom("item_feedback").where("item_id", "in", ids).execute();
        await trx.deleteFrom("thread_items").where("id", "in", ids).execute();
      }
      return newer;
    });
  }

  async addFeedback(owner: Owner, threadId: string, itemIds: string[], kind: FeedbackKind): Promise<boolean> {
    const unique = [...new Set(itemIds)];
    if (unique.length === 0) return true;
    return this.db.transaction().execute(async (trx) => {
      const found = await trx
        .selectFrom("thread_items")
        .select("id")
        .where("id", "in", unique)
        .where((eb) => this.inOwnedThread(eb, owner, threadId))
        .execute();
      if (found.length !== unique.length) return false;
      const now = monotonicNow();
      await trx
        .insertInto("item_feedback")
        .values(unique.map((id) => ({ item_id: id, user_id: owner.userId, thread_id: threadId, kind, created_at: now })))
        .onConflict((oc) => oc.columns(["item_id", "user_id"]).doUpdateSet((eb) => ({ kind: eb.ref("excluded.kind"), created_at: now })))
        .execute();
      return true;
    });
  }
}

/** The place after the thread's last item: one more than the highest seq (an index lookup). */
async function nextSeq(trx: Transaction<Database>, threadId: string): Promise<number> {
  const last = await trx
    .selectFrom("thread_items")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .where("thread_id", "=", threadId)
    .executeTakeFirst();
  return Number(last?.seq ?? 0) + 1;
}
