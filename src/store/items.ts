import type { ExpressionBuilder, Kysely, Transaction } from "kysely";
import { HIDDEN_ITEM_TYPES, type FeedbackKind, type ThreadItem } from "../protocol/items.ts";
import { monotonicNow } from "../core/clock.ts";
import type { ItemPageRequest, ItemStore, Owner, PageResult } from "./contract.ts";
import { keysetQuery, toPageResult } from "./pagination.ts";
import { PreparedQuery, preparedShapes, type QueryRunner } from "./prepared.ts";
import type { Database } from "./schema.ts";
import type { ThreadLock } from "./threads.ts";

const decodeItem = (row: { data: string }) => JSON.parse(row.data) as ThreadItem;

/** The values of an item write (placeholders while it is compiled). */
interface ItemInsertValues extends Record<string, unknown> {
  id: string;
  threadId: string;
  type: string;
  createdAt: number;
  seq: number;
  data: string;
}

/** The values of the item page read (placeholders while it is compiled). */
interface ItemPageValues extends Record<string, unknown> {
  userId: string;
  accountId: string;
  threadId: string;
  agentId?: string | undefined;
  afterId?: string | undefined;
  limitPlusOne: number;
}

/**
 * Thread items, stored as their full protocol JSON and ordered by `seq`, the place the database
 * gave each item in its thread. Every query is confined to a thread the owner holds, so a
 * guessed thread or item id from another user matches nothing.
 */
export class SqlItemStore implements ItemStore {
  private readonly db: Kysely<Database>;
  /** A page of stored item JSON (the `data` column alone: one value per row is the cheapest read). */
  private readonly page;
  private readonly lockOwnedThread: ThreadLock;
  private readonly lastSeq;
  private readonly insert;

  /** `lockOwnedThread`: the thread store's lock, so a thread's writers of either kind take turns on one. */
  constructor(runner: QueryRunner, lockOwnedThread: ThreadLock) {
    this.db = runner.db;
    this.lockOwnedThread = lockOwnedThread;
    // The thread's highest place so far (an index lookup): a new item goes one after it.
    this.lastSeq = new PreparedQuery(runner, (v: { threadId: string }) =>
      this.db
        .selectFrom("thread_items")
        .select((eb) => eb.fn.max("seq").as("seq"))
        .where("thread_id", "=", v.threadId),
    );
    // With `replace`, an existing item of that id (in that thread) is overwritten and keeps its place.
    this.insert = preparedShapes(runner, (shape: { replace: boolean }, v: ItemInsertValues) => {
      const insert = this.db.insertInto("thread_items").values({ id: v.id, thread_id: v.threadId, type: v.type, created_at: v.createdAt, seq: v.seq, data: v.data });
      if (!shape.replace) return insert;
      return insert.onConflict((oc) =>
        oc
          .column("id")
          .doUpdateSet((eb) => ({ type: eb.ref("excluded.type"), data: eb.ref("excluded.data") }))
          .where("thread_items.thread_id", "=", v.threadId),
      );
    });
    this.page = preparedShapes(runner, (shape: { order: "asc" | "desc"; after: boolean; includeHidden: boolean; byAgent: boolean }, v: ItemPageValues) => {
      let query = this.db
        .selectFrom("thread_items")
        .select("data")
        .where((eb) => this.inOwnedThread(eb, v, v.threadId, shape.byAgent ? v.agentId : undefined));
      if (!shape.includeHidden) query = query.where("type", "not in", [...HIDDEN_ITEM_TYPES]);
      // The cursor item's place, looked up inside the query: an unknown cursor matches no row, so the page is empty.
      const cursorSeq = () => this.db.selectFrom("thread_items as cursor").select("cursor.seq").where("cursor.id", "=", v.afterId!).where("cursor.thread_id", "=", v.threadId);
      return keysetQuery(query, shape.order, { columns: ["seq"], ...(shape.after ? { after: [cursorSeq()] } : {}) }, v.limitPlusOne);
    });
  }

  /**
   * `thread_id = ? AND EXISTS (the owner's thread)`: the equality lets the planner walk the
   * (thread_id, seq) index; the uncorrelated EXISTS is checked once per query.
   */
  private inOwnedThread(eb: ExpressionBuilder<Database, "thread_items">, owner: Owner, threadId: string, agentId?: string) {
    let thread = this.db.selectFrom("threads").select("id").where("id", "=", threadId).where("user_id", "=", owner.userId).where("account_id", "=", owner.accountId);
    if (agentId !== undefined) thread = thread.where("agent_id", "=", agentId);
    return eb.and([eb("thread_items.thread_id", "=", threadId), eb.exists(thread)]);
  }

  /**
   * Stores the item in the owner's thread, appended after its last item when new; with
   * `replace`, an existing item of that id (in that thread) is overwritten and keeps its place.
   * The thread's row lock makes "last item + 1" safe with concurrent writers on any server.
   */
  private async write(owner: Owner, item: ThreadItem, replace: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (!(await this.lockOwnedThread(trx, owner, item.thread_id))) throw new Error(`thread ${item.thread_id} is not the owner's`);
      const last = (await this.lastSeq.in(trx, { threadId: item.thread_id })).rows[0];
      await this.insertIn(trx, item, Number(last?.seq ?? 0) + 1, replace);
    });
  }

  /** Writes the item at place `seq` in the caller's transaction, which holds its thread (see `write`). */
  async insertIn(trx: Transaction<Database>, item: ThreadItem, seq: number, replace = false): Promise<void> {
    await this.insert({ replace }).in(trx, { id: item.id, threadId: item.thread_id, type: item.type, createdAt: Date.parse(item.created_at), seq, data: JSON.stringify(item) });
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

  async listJson(owner: Owner, threadId: string, page: ItemPageRequest): Promise<PageResult<string>> {
    const shape = { order: page.order, after: Boolean(page.after), includeHidden: Boolean(page.includeHidden), byAgent: page.agentId !== undefined };
    const rows = await this.page(shape).column(
      { userId: owner.userId, accountId: owner.accountId, threadId, agentId: page.agentId, afterId: page.after ?? undefined, limitPlusOne: page.limit + 1 },
      "data",
    );
    return toPageResult(rows, page.limit);
  }

  async history(owner: Owner, threadId: string, options: { limit?: number } = {}): Promise<ThreadItem[]> {
    if (options.limit !== undefined) {
      // Newest first from the (thread_id, seq) index (the compiled page read), so a long thread costs no more than a new one.
      const newest = await this.listJson(owner, threadId, { order: "desc", limit: options.limit, includeHidden: true });
      return newest.rows.reverse().map((data) => JSON.parse(data) as ThreadItem);
    }
    const rows = await this.db
      .selectFrom("thread_items")
      .select("data")
      .where((eb) => this.inOwnedThread(eb, owner, threadId))
      .orderBy("seq", "asc")
      .execute();
    return rows.map(decodeItem);
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
      if (!(await this.lockOwnedThread(trx, owner, threadId))) return [];
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

