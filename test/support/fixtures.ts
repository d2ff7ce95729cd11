import type { ThreadItem } from "../../src/protocol/items.ts";
import { monotonicNow, toIso } from "../../src/core/clock.ts";
import { newId } from "../../src/core/ids.ts";
import type { Owner } from "../../src/store/index.ts";
import type { TestServer } from "./app.ts";

export async function ownerOf(server: TestServer, email: string): Promise<Owner> {
  const { user } = await server.store.users.findOrCreate(email);
  return { userId: user.id, accountId: user.account_id };
}

/** Stores a thread with `count` alternating user/assistant messages, as a finished conversation leaves them. */
/** A user message as the server stores one, for threads a test puts in the store directly. */
export function userMessage(threadId: string, text: string): ThreadItem {
  return { id: newId("message"), thread_id: threadId, created_at: toIso(monotonicNow()), type: "user_message", content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
}

export async function seedThread(
  server: TestServer,
  options: { email?: string; agentId?: string; count?: number } = {},
): Promise<{ threadId: string; items: ThreadItem[]; owner: Owner }> {
  const owner = await ownerOf(server, options.email ?? "alice@example.com");
  const thread = await server.store.threads.create(owner, options.agentId ?? "assistant");
  const items: ThreadItem[] = [];
  for (let i = 0; i < (options.count ?? 0); i++) {
    const base = { id: newId("message"), thread_id: thread.id, created_at: toIso(monotonicNow()) };
    const item: ThreadItem =
      i % 2 === 0
        ? { ...base, type: "user_message", content: [{ type: "input_text", text: `question ${i}` }], attachments: [], inference_options: {} }
        : { ...base, type: "assistant_message", content: [{ type: "output_text", text: `answer ${i}`, annotations: [] }] };
    await server.store.items.add(owner, item);
    items.push(item);
  }
  return { threadId: thread.id, items, owner };
}
