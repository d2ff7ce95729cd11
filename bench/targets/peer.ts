/**
 * The peer: `chatkit-node-backend-sdk` wired the way its README suggests, with an in-memory store
 * of its own and served by Koa, answering model turns from the same upstream through the `openai`
 * client. Seeded at start with the same listing data as our server (BENCH_PEER_SEED: how many
 * threads, and the long thread's length); bearer tokens map to users (BENCH_PEER_USERS: JSON
 * `{ token: userId }`).
 */
import Router from "@koa/router";
import {
  ChatKitServer,
  Store,
  StoreNotFoundError,
  StreamingResult,
  type Attachment,
  type Page,
  type ThreadItem,
  type ThreadMetadata,
  type ThreadStreamEvent,
  type UserMessageItem,
} from "chatkit-node-backend-sdk";
import OpenAI from "openai";
import type { ResponseInputItem } from "openai/resources/responses/responses";
import { SEED, seedItem } from "../support/seed-data.ts";
import { readBody, serve } from "./serve.ts";

interface Context {
  userId: string;
}

interface StoredThread {
  meta: ThreadMetadata;
  userId: string;
  items: ThreadItem[];
  /** Item id → position in `items`. */
  positions: Map<string, number>;
}

/** Positions of one page of `length` records after the one at `afterPosition`, in either order. */
function pagePositions(length: number, afterPosition: number | undefined, limit: number, order: "asc" | "desc"): { positions: number[]; hasMore: boolean } {
  const positions: number[] = [];
  if (order === "asc") {
    const start = afterPosition === undefined ? 0 : afterPosition + 1;
    for (let p = start; p < length && positions.length < limit; p++) positions.push(p);
    return { positions, hasMore: start + positions.length < length };
  }
  const start = afterPosition === undefined ? length - 1 : afterPosition - 1;
  for (let p = start; p >= 0 && positions.length < limit; p--) positions.push(p);
  return { positions, hasMore: start - positions.length >= 0 };
}

class MemoryStore extends Store<Context> {
  private readonly threads = new Map<string, StoredThread>();
  /** Each user's thread ids, oldest first. */
  private readonly threadsByUser = new Map<string, string[]>();
  private readonly attachments = new Map<string, Attachment>();

  private owned(threadId: string, context: Context): StoredThread {
    const thread = this.threads.get(threadId);
    if (!thread || thread.userId !== context.userId) throw new StoreNotFoundError(`thread ${threadId} not found`);
    return thread;
  }

  async loadThread(threadId: string, context: Context): Promise<ThreadMetadata> {
    return { ...this.owned(threadId, context).meta };
  }

  async saveThread(thread: ThreadMetadata, context: Context): Promise<void> {
    const existing = this.threads.get(thread.id);
    if (existing) {
      if (existing.userId !== context.userId) throw new StoreNotFoundError(`thread ${thread.id} not found`);
      existing.meta = { ...thread };
      return;
    }
    this.threads.set(thread.id, { meta: { ...thread }, userId: context.userId, items: [], positions: new Map() });
    const ids = this.threadsByUser.get(context.userId) ?? [];
    ids.push(thread.id);
    this.threadsByUser.set(context.userId, ids);
  }

  async deleteThread(threadId: string, context: Context): Promise<void> {
    this.owned(threadId, context);
    this.threads.delete(threadId);
    const ids = this.threadsByUser.get(context.userId) ?? [];
    ids.splice(ids.indexOf(threadId), 1);
  }

  async loadThreads(limit: number, after: string | null, order: "asc" | "desc", context: Context): Promise<Page<ThreadMetadata>> {
    const ids = this.threadsByUser.get(context.userId) ?? [];
    const afterPosition = after === null ? undefined : ids.indexOf(after);
    if (afterPosition === -1) return { data: [], has_more: false, after: null };
    const { positions, hasMore } = pagePositions(ids.length, afterPosition, limit, order);
    const data = positions.map((p) => ({ ...this.threads.get(ids[p]!)!.meta }));
    return { data, has_more: hasMore, after: data.at(-1)?.id ?? null };
  }

  async loadThreadItems(threadId: string, after: string | null, limit: number, order: "asc" | "desc", context: Context): Promise<Page<ThreadItem>> {
    const thread = this.owned(threadId, context);
    const afterPosition = after === null ? undefined : thread.positions.get(after);
    if (after !== null && afterPosition === undefined) return { data: [], has_more: false, after: null };
    const { positions, hasMore } = pagePositions(thread.items.length, afterPosition, limit, order);
    const data = positions.map((p) => thread.items[p]!);
    return { data, has_more: hasMore, after: data.at(-1)?.id ?? null };
  }

  async addThreadItem(threadId: string, item: ThreadItem, context: Context): Promise<void> {
    const thread = this.owned(threadId, context);
    thread.positions.set(item.id, thread.items.push(item) - 1);
  }

  async saveItem(threadId: string, item: ThreadItem, context: Context): Promise<void> {
    const thread = this.owned(threadId, context);
    const position = thread.positions.get(item.id);
    if (position === undefined) await this.addThreadItem(threadId, item, context);
    else thread.items[position] = item;
  }

  async loadItem(threadId: string, itemId: string, context: Context): Promise<ThreadItem> {
    const thread = this.owned(threadId, context);
    const position = thread.positions.get(itemId);
    if (position === undefined) throw new StoreNotFoundError(`item ${itemId} not found`);
    return thread.items[position]!;
  }

  async deleteThreadItem(threadId: string, itemId: string, context: Context): Promise<void> {
    const thread = this.owned(threadId, context);
    const position = thread.positions.get(itemId);
    if (position === undefined) return;
    thread.items.splice(position, 1);
    thread.positions = new Map(thread.items.map((item, index) => [item.id, index]));
  }

  async saveAttachment(attachment: Attachment): Promise<void> {
    this.attachments.set(attachment.id, attachment);
  }

  async loadAttachment(attachmentId: string): Promise<Attachment> {
    const attachment = this.attachments.get(attachmentId);
    if (!attachment) throw new StoreNotFoundError(`attachment ${attachmentId} not found`);
    return attachment;
  }

  async deleteAttachment(attachmentId: string): Promise<void> {
    this.attachments.delete(attachmentId);
  }
}

const HISTORY_ITEMS = 40;
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
const model = process.env.BENCH_MODEL ?? "bench-model";
const quiet = { info() {}, warn() {}, error: (message: string) => console.error(message), debug() {} };

class PeerServer extends ChatKitServer<Context> {
  async *respond(thread: ThreadMetadata, _input: UserMessageItem | null, context: Context): AsyncGenerator<ThreadStreamEvent> {
    const history = await this.store.loadThreadItems(thread.id, null, HISTORY_ITEMS, "desc", context);
    const input: ResponseInputItem[] = [];
    for (const item of history.data.reverse()) {
      if (item.type === "user_message") {
        input.push({ role: "user", content: item.content.flatMap((part) => (part.type === "input_text" ? [{ type: "input_text" as const, text: part.text }] : [])) });
      } else if (item.type === "assistant_message") {
        input.push({ role: "assistant", content: item.content.map((part) => part.text).join("") });
      }
    }
    const stream = await client.responses.create({ model, input, stream: true });
    const item = {
      type: "assistant_message" as const,
      id: this.store.generateItemId("message", thread, context),
      thread_id: thread.id,
      created_at: new Date().toISOString(),
      content: [{ type: "output_text" as const, text: "", annotations: [] }],
    };
    yield { type: "thread.item.added", item };
    let text = "";
    for await (const event of stream) {
      if (event.type !== "response.output_text.delta") continue;
      text += event.delta;
      yield { type: "thread.item.updated", item_id: item.id, update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: event.delta } };
    }
    yield { type: "thread.item.done", item: { ...item, content: [{ type: "output_text", text, annotations: [] }] } };
  }
}

const store = new MemoryStore();
const chatkit = new PeerServer(store, undefined, quiet);
const users = new Map<string, string>(Object.entries(JSON.parse(process.env.BENCH_PEER_USERS ?? "{}") as Record<string, string>));

/** The listing user's threads, the last one long, as in our server's data dir (no filler items: they only matter on disk). */
async function seed(): Promise<void> {
  const userId = users.values().next().value;
  if (!userId) return;
  const context = { userId };
  const { threads, bigThreadItems } = JSON.parse(process.env.BENCH_PEER_SEED ?? "{}") as { threads?: number; bigThreadItems?: number };
  for (let i = 0; i < (threads ?? 0); i++) {
    const id = `thr_peer_${String(i).padStart(6, "0")}`;
    await store.saveThread({ id, title: `Seeded thread ${i}`, created_at: new Date(Date.UTC(2026, 0, 1) + i).toISOString(), status: { type: "active" }, metadata: {} }, context);
    if (i === (threads ?? 0) - 1) {
      for (let n = 0; n < (bigThreadItems ?? SEED.bigThreadItems); n++) await store.addThreadItem(id, seedItem(id, n) as ThreadItem, context);
    }
  }
}

const router = new Router();
router.get("/healthz", (ctx) => {
  ctx.body = { ok: true };
});
router.post("/chatkit", async (ctx) => {
  const userId = users.get(ctx.get("authorization").replace(/^Bearer /, ""));
  if (!userId) {
    ctx.status = 401;
    ctx.body = { error: "unauthorized" };
    return;
  }
  const result = await chatkit.process(await readBody(ctx.req), { userId });
  if (result instanceof StreamingResult) {
    ctx.respond = false;
    ctx.res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    for await (const chunk of result) ctx.res.write(chunk);
    ctx.res.end();
  } else {
    ctx.type = "application/json";
    ctx.body = result.toString();
  }
});

await seed();
serve(router);
