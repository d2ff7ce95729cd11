import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HISTORY_ITEMS_PER_MESSAGE, historyToMessages, INLINE_ATTACHMENT_MESSAGES, recentHistory } from "../src/agents/history.ts";
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

describe("which of a thread's items a turn reads", () => {
  /** A thread in memory, read as the store reads it: the newest `limit` items, oldest first. */
  function thread(items: ThreadItem[]) {
    const limits: number[] = [];
    const read = async (limit: number) => {
      limits.push(limit);
      return items.slice(-limit);
    };
    return { read, limits };
  }
  const conversation = (turns: number): ThreadItem[] => Array.from({ length: turns }, (_, i) => [user(2 * i, `q${i}`), assistant(2 * i + 1, `a${i}`)]).flat();
  const workflow = (n: number): ThreadItem => ({ ...base(n), type: "workflow", workflow: { type: "custom", tasks: [], expanded: false } });

  test("a long thread: one bounded read of its newest items, and the model sees what the whole thread would give", async () => {
    const items = conversation(5_000);
    const { read, limits } = thread(items);
    const recent = await recentHistory(read, { maxMessages: 40 });
    assert.deepEqual(limits, [81]);
    assert.equal(recent.items.length, 80);
    assert.equal(recent.wholeThread, false);
    assert.deepEqual(historyToMessages(recent.items, { maxMessages: 40 }), historyToMessages(items, { maxMessages: 40 }));
  });

  test("a short thread is read whole, and says so", async () => {
    const items = conversation(3);
    const recent = await recentHistory(thread(items).read, { maxMessages: 40 });
    assert.deepEqual(recent, { items, wholeThread: true });
  });

  test("items the model does not see widen the read until it holds enough messages, up to a bound", async () => {
    // Every answer followed by nine workflow items: 80 items hold only 16 messages.
    const busy = conversation(400).flatMap((item, i) => (item.type === "assistant_message" ? [item, ...Array.from({ length: 9 }, (_, k) => workflow(10_000 + 10 * i + k))] : [item]));
    const { read, limits } = thread(busy);
    const recent = await recentHistory(read, { maxMessages: 40 });
    assert.deepEqual(limits, [81, 161, 321]);
    assert.deepEqual(historyToMessages(recent.items, { maxMessages: 40 }), historyToMessages(busy, { maxMessages: 40 }));

    const silent = Array.from({ length: 5_000 }, (_, i) => workflow(i));
    const bounded = thread(silent);
    const some = await recentHistory(bounded.read, { maxMessages: 40 });
    assert.equal(some.items.length, 40 * HISTORY_ITEMS_PER_MESSAGE, "never more than the bound");
    assert.deepEqual(bounded.limits.at(-1), 40 * HISTORY_ITEMS_PER_MESSAGE + 1);
  });

  test("reaches back to an old approval the user just answered, and to the calls it decides", async () => {
    const pending = (n: number, callId: string): ThreadItem => ({ ...base(n), type: "sdk_tool_call", call_id: callId, name: "delete_files", arguments: "{}", output: "", approval: "pending" });
    const approval: ThreadItem = {
      ...base(1_002),
      type: "structured_input",
      status: "answered",
      inputs: ["call_a", "call_b"].map((callId) => ({ type: "multiple_choice", id: `approval:${callId}`, question: "Allow?", options: [{ value: "Approve" }, { value: "Deny" }], multiple: false, answer: { values: ["Approve"] } })),
    } as ThreadItem;
    const items = [...conversation(10), pending(1_000, "call_a"), pending(1_001, "call_b"), approval, ...conversation(100).map((item) => ({ ...item, id: `later_${item.id}` }))];
    const { read, limits } = thread(items);
    const recent = await recentHistory(read, { maxMessages: 40, reach: approval.id });
    assert.ok(limits.length > 1, "widened");
    const ids = recent.items.map((item) => item.id);
    for (const id of ["msg_1000", "msg_1001", approval.id]) assert.ok(ids.includes(id), id);
    assert.deepEqual(historyToMessages(recent.items, { maxMessages: 40 }), historyToMessages(items, { maxMessages: 40 }));
  });
});
