import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { historyToMessages, INLINE_ATTACHMENT_MESSAGES } from "../src/agents/history.ts";
import type { Attachment, ThreadItem } from "../src/protocol/items.ts";

const base = (n: number) => ({ id: `msg_${n}`, thread_id: "thr_1", created_at: new Date(n).toISOString() });
const user = (n: number, text: string, attachments: Attachment[] = []): ThreadItem => ({
  ...base(n),
  type: "user_message",
  content: [{ type: "input_text", text }],
  attachments,
  inference_options: {},
});
const assistant = (n: number, text: string): ThreadItem => ({ ...base(n), type: "assistant_message", content: [{ type: "output_text", text, annotations: [] }] });
const file = (name: string): Attachment => ({ type: "file", id: `atc_${name}`, name, mime_type: "text/plain" });

describe("what the model is sent of a thread", () => {
  test("keeps the latest messages, starting with a user one", () => {
    const items = [user(1, "a"), assistant(2, "b"), user(3, "c"), assistant(4, "d"), user(5, "e")];
    assert.deepEqual(historyToMessages(items, { maxMessages: 4 }).map((m) => m.text), ["c", "d", "e"]);
    assert.deepEqual(historyToMessages(items).map((m) => m.role), ["user", "assistant", "user", "assistant", "user"]);
  });

  test("sends files only with the latest user messages and names older ones", () => {
    const items = [user(1, "old", [file("old.txt")]), assistant(2, "ok"), user(3, "mid", [file("mid.txt")]), assistant(4, "ok"), user(5, "new", [file("new.txt")])];
    const messages = historyToMessages(items);
    assert.equal(INLINE_ATTACHMENT_MESSAGES, 2);
    assert.equal(messages[0]!.attachments, undefined);
    assert.equal(messages[0]!.text, 'old\n[Earlier in the conversation the user attached "old.txt".]');
    assert.deepEqual(messages[2]!.attachments?.map((a) => a.name), ["mid.txt"]);
    assert.deepEqual(messages[4]!.attachments?.map((a) => a.name), ["new.txt"]);
  });

  test("hidden context reaches the model; empty assistant messages do not", () => {
    const items: ThreadItem[] = [
      user(1, "hi"),
      assistant(2, "  "),
      { ...base(3), type: "sdk_hidden_context", content: "The user stopped the previous answer before it finished." },
      user(4, "again"),
    ];
    assert.deepEqual(historyToMessages(items).map((m) => m.text), ["hi", "The user stopped the previous answer before it finished.", "again"]);
  });
});
