import type { Kysely, Transaction } from "kysely";
import { threadMetadataJson } from "../protocol/serialize.ts";
import { monotonicNow } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { ThreadItem, ThreadStatus } from "../protocol/items.ts";
import type { SqlAttachmentStore } from "./attachments.ts";
import type { FirstItem, Owner, PageResult, ThreadChanges, ThreadPageRequest, ThreadRow, ThreadStore } from "./contract.ts";
import type { SqlItemStore } from "./items.ts";
import { keysetQuery, toPageResult } from "./pagination.ts";
import { PreparedQuery, preparedShapes, type QueryRunner } from "./prepared.ts";
import { subtractDeletedBytes } from "./quotas.ts";
import type { Database, ThreadRecord } from "./schema.ts";

/** A threads row as callers see it: status and metadata parsed, the stored wire JSON left out. */
function decodeThread({ wire: _wire, ...row }: ThreadRecord): ThreadRow {
  return { ...row, status: JSON.parse(row.status) as ThreadStatus, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** A new thread's row, active and untouched. */
function newThreadRecord(owner: Owner, agentId: string, title: string | null): ThreadRecord {
  const now = monotonicNow();
  const id = newId("thread");
  return {
    id,
    account_id: owner.accountId,
    user_id: owner.userId,
    agent_id: agentId,
    title,
    status: JSON.stringify({ type: "active" } satisfies ThreadStatus),
    metadata: "{}",
    created_at: now,
    updated_at: now,
    wire: threadMetadataJson({ id, title, status: { type: "active" }, created_at: now }),
  };
}

/** Rolls back a new thread whose first item's attachment another message took meanwhile. */
const attachmentTaken = new Error("an attachment of the first item was taken");

/** Locks an owner's thread in a transaction (see `ownedThreadLock`); whether the thread is the owner's. */
export type ThreadLock = (trx: Transaction<Database>, owner: Owner, threadId: string) => Promise<boolean>;

/**
 * Marks the owner's thread as changed now and, in a transaction, locks its row until commit
 * (PostgreSQL row lock; SQLite has one writer at a time anyway), so writers to one thread take
 * turns. Returns whether the thread is the owner's. Every write to a thread's items starts here.
 */
export function ownedThreadLock(runner: QueryRunner): ThreadLock {
  const lock = new PreparedQuery(runner, (v: { now: number; threadId: string; userId: string; accountId: string }) =>
    runner.db.updateTable("threads").set({ updated_at: v.now }).where("id", "=", v.threadId).where("user_id", "=", v.userId).where("account_id", "=", v.accountId),
  );
  return async (trx, owner, threadId) => {
    const result = await lock.in(trx, { now: monotonicNow(), threadId, userId: owner.userId, accountId: owner.accountId });
    return (result.numAffectedRows ?? 0n) > 0n;
  };
}

/** The values of the thread reads (placeholders while they are compiled). */
interface ThreadQueryValues extends Record<string, unknown> {
  userId: string;
  accountId: string;
  agentId?: string | undefined;
  threadId?: string;
  afterCreatedAt?: number;
  afterId?: string;
  limitPlusOne?: number;
}

const values = (owner: Owner, agentId: string | undefined): ThreadQueryValues => ({ userId: owner.userId, accountId: owner.accountId, agentId });

export class SqlThreadStore implements ThreadStore {
  private readonly db: Kysely<Database>;
  private readonly ownedThread;
  private readonly wirePage;
  private readonly insertThread;
  private readonly updateThread;

  /**
   * `lockOwnedThread`: the lock every write to one of the owner's threads, or to its items, starts
   * with; `items` and `attachments` store a new thread's first item in the thread's transaction.
   */
  constructor(
    runner: QueryRunner,
    private readonly lockOwnedThread: ThreadLock,
    private readonly items: SqlItemStore,
    private readonly attachments: SqlAttachmentStore,
  ) {
    this.db = runner.db;
    this.insertThread = new PreparedQuery(runner, (v: ThreadRecord) =>
      this.db.insertInto("threads").values({
        id: v.id,
        account_id: v.account_id,
        user_id: v.user_id,
        agent_id: v.agent_id,
        title: v.title,
        status: v.status,
        metadata: v.metadata,
        created_at: v.created_at,
        updated_at: v.updated_at,
        wire: v.wire,
      }),
    );
    this.ownedThread = preparedShapes(runner, (shape: { byAgent: boolean }, v: ThreadQueryValues) => this.owned(v, shape.byAgent).where("id", "=", v.threadId!));
    this.updateThread = new PreparedQuery(runner, (v: { threadId: string; title: string | null; status: string; metadata: string; updatedAt: number; wire: string }) =>
      this.db.updateTable("threads").set({ title: v.title, status: v.status, metadata: v.metadata, updated_at: v.updatedAt, wire: v.wire }).where("id", "=", v.threadId),
    );
    // A keyset page of the stored wire JSON alone.
    this.wirePage = preparedShapes(runner, (shape: { byAgent: boolean; order: "asc" | "desc"; after: boolean }, v: ThreadQueryValues) =>
      keysetQuery(this.owned(v, shape.byAgent).clearSelect().select("wire"), shape.order, { columns: ["created_at", "id"], ...(shape.after ? { after: [v.afterCreatedAt!, v.afterId!] } : {}) }, v.limitPlusOne!),
    );
  }

  async create(owner: Owner, agentId: string, title: string | null = null): Promise<ThreadRow> {
    const row = newThreadRecord(owner, agentId, title);
    await this.insertThread.run(row);
    return decodeThread(row);
  }

  async createWithItem(owner: Owner, agentId: string, title: string | null, first: FirstItem): Promise<{ thread: ThreadRow; item: ThreadItem } | undefined> {
    const row = newThreadRecord(owner, agentId, title);
    const item = first.build(row.id);
    const stored = await this.db.transaction().execute(async (trx) => {
      await this.insertThread.in(trx, row);
      // Its first item: no other writer can know the thread yet, so no lock and no lookup of its last place.
      await this.items.insertIn(trx, item, 1);
      const linked = await this.attachments.linkToItem(owner, first.attachmentIds, row.id, item.id, trx);
      if (linked !== first.attachmentIds.length) throw attachmentTaken;
      return true;
    }).catch((error: unknown) => {
      if (error === attachmentTaken) return false;
      throw error;
    });
    return stored ? { thread: decodeThread(row), item } : undefined;
  }

  private owned(v: Pick<ThreadQueryValues, "userId" | "accountId" | "agentId">, byAgent: boolean) {
    const query = this.db.selectFrom("threads").selectAll().where("user_id", "=", v.userId).where("account_id", "=", v.accountId);
    return byAgent ? query.where("agent_id", "=", v.agentId!) : query;
  }

  async get(owner: Owner, threadId: string, agentId?: string): Promise<ThreadRow | undefined> {
    const row = await this.ownedThread({ byAgent: Boolean(agentId) }).first({ ...values(owner, agentId), threadId });
    return row && decodeThread(row);
  }

  /** The values of a page's query: the owner's, and the cursor thread's key when there is one (undefined: an unknown cursor). */
  private async pageValues(owner: Owner, page: ThreadPageRequest): Promise<ThreadQueryValues | undefined> {
    const base = { ...values(owner, page.agentId), limitPlusOne: page.limit + 1 };
    if (!page.after) return base;
    const cursor = await this.ownedThread({ byAgent: Boolean(page.agentId) }).first({ ...base, threadId: page.after });
    return cursor && { ...base, afterCreatedAt: cursor.created_at, afterId: cursor.id };
  }

  async listJson(owner: Owner, page: ThreadPageRequest): Promise<PageResult<string>> {
    const v = await this.pageValues(owner, page);
    if (!v) return { rows: [], hasMore: false };
    const rows = await this.wirePage({ byAgent: Boolean(page.agentId), order: page.order, after: Boolean(page.after) }).column(v, "wire");
    return toPageResult(rows, page.limit);
  }

  async update(owner: Owner, threadId: string, changes: ThreadChanges): Promise<ThreadRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // Locked first, so two changes to one thread (a title, a status) never write a stale `wire`.
      if (!(await this.lockOwnedThread(trx, owner, threadId))) return undefined;
      const [current] = (await this.ownedThread({ byAgent: false }).in(trx, { ...values(owner, undefined), threadId })).rows;
      const next: ThreadRow = { ...decodeThread(current!), updated_at: monotonicNow() };
      if (changes.title !== undefined) next.title = changes.title;
      if (changes.status !== undefined) next.status = changes.status;
      if (changes.metadata !== undefined) next.metadata = changes.metadata;
      await this.updateThread.in(trx, {
        threadId,
        title: next.title,
        status: JSON.stringify(next.status),
        metadata: JSON.stringify(next.metadata),
        updatedAt: next.updated_at,
        wire: threadMetadataJson(next),
      });
      return next;
    });
  }

  async delete(owner: Owner, threadId: string): Promise<{ attachmentIds: string[] } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // Locked first: an item or attachment added on another server meanwhile waits, then finds no thread.
      if (!(await this.lockOwnedThread(trx, owner, threadId))) return undefined;
      const attachments = await trx.deleteFrom("attachments").where("thread_id", "=", threadId).returning(["id", "user_id", "size_bytes", "status"]).execute();
      await subtractDeletedBytes(trx, attachments);
      await trx.deleteFrom("item_feedback").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("thread_items").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("threads").where("id", "=", threadId).execute();
      return { attachmentIds: attachments.map((a) => a.id) };
    });
  }
}
