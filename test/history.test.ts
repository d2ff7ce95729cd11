import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { historyToMessages, INLINE_ATTACHMENT_MESSAGES } from "../src/agents/history.ts";
import type { ModelMessage } from "../src/agents/runner.ts";
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

const textOf = (message: ModelMessage) => (message.role === "tool" ? `tool:${message.name}` : message.role === "hosted" ? `hosted:${message.item.type}` : message.text);
const filesOf = (message: ModelMessage | undefined) => (message?.role === "user" ? message.attachments : undefined);

describe("what the model is sent of a thread", () => {
  test("keeps the latest messages, starting with a user one", () => {
    const items = [user(1, "a"), assistant(2, "b"), user(3, "c"), assistant(4, "d"), user(5, "e")];
    assert.deepEqual(historyToMessages(items, { maxMessages: 4 }).map(textOf), ["c", "d", "e"]);
    assert.deepEqual(historyToMessages(items).map((m) => m.role), ["user", "assistant", "user", "assistant", "user"]);
  });

  test("sends files only with the latest user messages and names older ones", () => {
    const items = [user(1, "old", [file("old.txt")]), assistant(2, "ok"), user(3, "mid", [file("mid.txt")]), assistant(4, "ok"), user(5, "new", [file("new.txt")])];
    const messages = historyToMessages(items);
    assert.equal(INLINE_ATTACHMENT_MESSAGES, 2);
    assert.equal(filesOf(messages[0]), undefined);
    assert.equal(textOf(messages[0]!), 'old\n[Earlier in the conversation the user attached "old.txt".]');
    assert.deepEqual(filesOf(messages[2])?.map((a) => a.name), ["mid.txt"]);
    assert.deepEqual(filesOf(messages[4])?.map((a) => a.name), ["new.txt"]);
  });

  test("hidden context reaches the model; empty assistant messages do not", () => {
    const items: ThreadItem[] = [
      user(1, "hi"),
      assistant(2, "  "),
      { ...base(3), type: "sdk_hidden_context", content: "The user stopped the previous answer before it finished." },
      user(4, "again"),
    ];
    assert.deepEqual(historyToMessages(items).map(textOf), ["hi", "The user stopped the previous answer before it finished.", "again"]);
  });

  test("a tool call and its output stay one entry, so trimming never separates them", () => {
    const call = (n: number, name: string): ThreadItem => ({ ...base(n), type: "sdk_tool_call", call_id: `call_${n}`, name, arguments: "{}", output: "ok" });
    const items: ThreadItem[] = [user(1, "a"), call(2, "lookup"), assistant(3, "b"), user(4, "c"), call(5, "lookup"), call(6, "other"), assistant(7, "d")];
    assert.deepEqual(historyToMessages(items).map(textOf), ["a", "tool:lookup", "b", "c", "tool:lookup", "tool:other", "d"]);
    // Cut so that the window would start at a tool output: it starts at the next user message instead.
    assert.deepEqual(historyToMessages(items, { maxMessages: 5 }).map(textOf), ["c", "tool:lookup", "tool:other", "d"]);
    const completedClientCall: ThreadItem = { ...base(8), type: "client_tool_call", status: "completed", call_id: "c9", name: "get_location", arguments: { precise: true }, output: { city: "Rome" } };
    assert.deepEqual(historyToMessages([user(1, "where?"), completedClientCall]).at(-1), {
      role: "tool",
      callId: "c9",
      name: "get_location",
      arguments: '{"precise":true}',
      output: '{"city":"Rome"}',
    });
  });
});
