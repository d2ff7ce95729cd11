/**
 * What the benchmark's data looks like, without the store: the peer's in-memory store is seeded
 * with the same items in its own process, and must not load SQLite to get them.
 */
import type { ThreadItem } from "../../src/protocol/items.ts";

export const SEED = {
  /** Threads the listing user owns: threads.list pages through them. */
  threads: 100,
  /** Items in the one long thread items.list pages through. */
  bigThreadItems: 10_000,
  /** Items in the whole database, for the start-up run (the long thread's included). */
  totalItems: 100_000,
};

export const LISTER_EMAIL = "lister@bench.example";
/** The app whose tokens sign the lister in for the auth workload (bench/chatkit.bench.config.ts). */
export const BENCH_JWT = { issuer: "https://app.bench.example", audience: "chatkit-box", secret: "bench-app-secret-0123456789abcdef0123" };
export const STREAMER_EMAIL = "streamer@bench.example";
/** Seeded items are timestamped from here, a millisecond apart. */
export const SEED_START_MS = Date.UTC(2026, 0, 1);

/** A seeded conversation's n-th item: users and the assistant take turns, ~150 bytes of text each. */
export function seedItem(threadId: string, n: number): ThreadItem {
  const id = `msg_seed_${threadId.slice(-6)}_${String(n).padStart(6, "0")}`;
  const created_at = new Date(SEED_START_MS + n).toISOString();
  const text = `Message ${n} of a long conversation, long enough to look like what people write to an assistant on an ordinary day.`;
  return n % 2 === 0
    ? { id, thread_id: threadId, created_at, type: "user_message", content: [{ type: "input_text", text }], attachments: [], inference_options: {} }
    : { id, thread_id: threadId, created_at, type: "assistant_message", content: [{ type: "output_text", text, annotations: [] }] };
}
