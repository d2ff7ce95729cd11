import assert from "node:assert/strict";
import { test } from "node:test";
import type { ThreadStreamEvent } from "../src/protocol/events.ts";
import type { ThreadItem } from "../src/protocol/items.ts";
import { readEvents } from "../src/webclient/app/api.ts";
import { applyEvent, EMPTY_THREAD, type ThreadState } from "../src/webclient/app/thread-state.ts";

const base = { thread_id: "thr_1", created_at: "2025-01-01T00:00:00Z" };
const fold = (events: ThreadStreamEvent[], start: ThreadState = EMPTY_THREAD) => events.reduce(applyEvent, start);

test("the built-in client folds a streamed answer the way the protocol describes (4.1)", () => {
  const state = fold([
    { type: "thread.created", thread: { id: "thr_1", created_at: base.created_at, status: { type: "active" }, metadata: {}, items: { data: [], has_more: false } } },
    { type: "stream_options", stream_options: { allow_cancel: true } },
    { type: "progress_update", text: "Thinking" },
    { type: "thread.item.added", item: { ...base, id: "msg_a", type: "assistant_message", content: [] } },
    { type: "thread.item.updated", item_id: "msg_a", update: { type: "assistant_message.content_part.text_delta", content_index: 1, delta: "late" } },
    { type: "thread.item.updated", item_id: "msg_a", update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: "Hel" } },
    { type: "thread.item.updated", item_id: "msg_a", update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: "lo" } },
    {
      type: "thread.item.updated",
      item_id: "msg_a",
      update: { type: "assistant_message.content_part.annotation_added", content_index: 0, annotation_index: 5, annotation: { type: "annotation", source: { type: "url", title: "Docs", url: "https://example.com" } } },
    },
  ]);
  assert.equal(state.thread?.id, "thr_1");
  assert.equal(state.allowCancel, true);
  assert.equal(state.progress, null, "an item update clears the progress line");
  const answer = state.items[0] as Extract<ThreadItem, { type: "assistant_message" }>;
  assert.deepEqual(answer.content.map((part) => part.text), ["Hello", "late"], "missing parts are created empty, deltas append");
  assert.equal(answer.content[0]!.annotations.length, 1);

  const done = fold([{ type: "thread.item.done", item: { ...base, id: "msg_a", type: "assistant_message", content: [{ type: "output_text", text: "Final", annotations: [] }] } }], state);
  assert.equal(done.items.length, 1, "done replaces the pending item");
  assert.equal((done.items[0] as typeof answer).content[0]!.text, "Final");
  assert.deepEqual(fold([{ type: "thread.item.removed", item_id: "msg_a" }], done).items, []);
});

test("widget and workflow updates change the item in place; errors read as the protocol says", () => {
  const widget: ThreadItem = {
    ...base,
    id: "msg_w",
    type: "widget",
    widget: { type: "Card", children: [{ type: "Text", id: "t", value: "Hi" }, { type: "Col", children: [{ type: "Badge", id: "b", label: "old" }] }] },
  };
  const workflow: ThreadItem = { ...base, id: "wf_1", type: "workflow", workflow: { type: "reasoning", tasks: [], expanded: false } };
  const state = fold([
    { type: "thread.item.added", item: widget },
    { type: "thread.item.added", item: workflow },
    { type: "thread.item.updated", item_id: "msg_w", update: { type: "widget.streaming_text.value_delta", component_id: "t", delta: " there", done: false } },
    { type: "thread.item.updated", item_id: "msg_w", update: { type: "widget.component.updated", component_id: "b", component: { type: "Badge", id: "b", label: "new" } } },
    { type: "thread.item.updated", item_id: "wf_1", update: { type: "workflow.task.added", task_index: 0, task: { type: "thought", content: "a", status_indicator: "loading" } } },
    { type: "thread.item.updated", item_id: "wf_1", update: { type: "workflow.task.updated", task_index: 0, task: { type: "thought", content: "ab", status_indicator: "complete" } } },
    { type: "error", code: "stream.error", allow_retry: true },
  ]);
  const tree = (state.items[0] as Extract<ThreadItem, { type: "widget" }>).widget;
  assert.deepEqual(tree.children![0], { type: "Text", id: "t", value: "Hi there", streaming: true });
  assert.deepEqual(tree.children![1]!.children![0], { type: "Badge", id: "b", label: "new" });
  const tasks = (state.items[1] as Extract<ThreadItem, { type: "workflow" }>).workflow.tasks;
  assert.deepEqual(tasks, [{ type: "thought", content: "ab", status_indicator: "complete" }]);
  assert.equal(state.error?.allowRetry, true);
  assert.match(state.error!.message, /went wrong/);
  const replaced = fold([{ type: "thread.item.updated", item_id: "msg_w", update: { type: "widget.root.updated", widget: { type: "Card", children: [] } } }], state);
  assert.deepEqual((replaced.items[0] as Extract<ThreadItem, { type: "widget" }>).widget, { type: "Card", children: [] });
  assert.equal(fold([{ type: "error", code: "custom", message: "Slow down", allow_retry: false }]).error?.message, "Slow down");
});

test("the client's SSE reader takes events split anywhere, skips comments and keeps multi-line data", async () => {
  const wire = ': keep-alive\n\ndata: {"type":"progress_update",\ndata: "text":"a"}\n\ndata: {"type":"notice","level":"info","message":"é"}\r\n\r\n';
  const bytes = new TextEncoder().encode(wire);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
      controller.close();
    },
  });
  const events: unknown[] = [];
  for await (const event of readEvents(body)) events.push(event);
  assert.deepEqual(events, [
    { type: "progress_update", text: "a" },
    { type: "notice", level: "info", message: "é" },
  ]);
});
