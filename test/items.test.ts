import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ThreadItem } from "../src/protocol/items.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { startTestServer, type TestServer } from "./support/app.ts";
import { seedThread } from "./support/fixtures.ts";

describe("items requests", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("items.list pages newest first by default, and oldest first when asked", async () => {
    const { threadId, items } = await seedThread(server, { count: 5 });
    const ids = items.map((i) => i.id);
    const page1 = await server.request("items.list", { thread_id: threadId, limit: 2 });
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.data.map((i: any) => i.id), [ids[4], ids[3]]);
    assert.equal(page1.body.has_more, true);
    assert.equal(page1.body.after, ids[3]);
    const page2 = await server.request("items.list", { thread_id: threadId, limit: 2, after: page1.body.after });
    assert.deepEqual(page2.body.data.map((i: any) => i.id), [ids[2], ids[1]]);
    const page3 = await server.request("items.list", { thread_id: threadId, limit: 2, after: page2.body.after });
    assert.deepEqual(page3.body, { data: [items[0]], has_more: false });

    const asc = await server.request("items.list", { thread_id: threadId, order: "asc", limit: 5 });
    assert.deepEqual(asc.body.data.map((i: any) => i.id), ids);
    assert.equal(asc.body.has_more, false, "exact page");
    const afterLast = await server.request("items.list", { thread_id: threadId, order: "asc", after: ids[4] });
    assert.deepEqual(afterLast.body, { data: [], has_more: false });
    const unknownCursor = await server.request("items.list", { thread_id: threadId, after: "msg_unknown" });
    assert.deepEqual(unknownCursor.body, { data: [], has_more: false });
  });

  test("items.list on an empty thread answers an empty page", async () => {
    const { threadId } = await seedThread(server);
    const { body } = await server.request("items.list", { thread_id: threadId });
    assert.deepEqual(body, { data: [], has_more: false });
  });

  test("every protocol item type round-trips unchanged, and hidden items are never sent", async () => {
    const { threadId, owner } = await seedThread(server);
    const base = () => ({ id: newId("message"), thread_id: threadId, created_at: toIso(monotonicNow()) });
    const kinds: ThreadItem[] = [
      {
        ...base(),
        type: "user_message",
        content: [
          { type: "input_text", text: "What is this?" },
          { type: "input_tag", id: "article_1", text: "AI", data: { type: "article" }, group: "Trending", interactive: false },
        ],
        attachments: [{ type: "file", id: "atc_1", name: "r.pdf", mime_type: "application/pdf", thread_id: threadId }],
        quoted_text: "earlier",
        inference_options: { model: "m", tool_choice: { id: "search" } },
      },
      {
        ...base(),
        type: "assistant_message",
        content: [{ type: "output_text", text: "Rome", annotations: [{ type: "annotation", index: 2, source: { type: "url", title: "W", url: "https://w.example" } }] }],
      },
      { ...base(), type: "client_tool_call", status: "completed", call_id: "call_1", name: "get_location", arguments: { precise: true }, output: { lat: 1 } },
      { ...base(), type: "widget", widget: { type: "Card", children: [{ type: "Text", value: "Hi" }] }, copy_text: "Hi" },
      { ...base(), type: "generated_image", image: { id: "img_1", url: "data:image/png;base64,AA==" } },
      {
        ...base(),
        type: "structured_input",
        status: "pending",
        inputs: [{ type: "multiple_choice", id: "p", question: "Priority?", options: [{ value: "Low" }], multiple: false }],
      },
      { ...base(), type: "workflow", workflow: { type: "reasoning", tasks: [{ type: "thought", content: "hm", status_indicator: "complete" }], summary: { duration: 3 }, expanded: false } },
      { ...base(), type: "task", task: { type: "custom", title: "Done", status_indicator: "none" } },
      { ...base(), type: "end_of_turn" },
    ];
    const hidden: ThreadItem[] = [
      { ...base(), type: "hidden_context_item", content: { clicked: "book" } },
      { ...base(), type: "sdk_hidden_context", content: "The user cancelled." },
    ];
    for (const item of [...kinds, ...hidden]) await server.store.items.add(owner, item);

    const listed = await server.request("items.list", { thread_id: threadId, order: "asc", limit: 50 });
    assert.deepEqual(listed.body.data, kinds);
    const thread = await server.request("threads.get_by_id", { thread_id: threadId });
    assert.deepEqual(thread.body.items.data, kinds);
  });

  test("items.feedback stores one verdict per item and answers {}", async () => {
    const { threadId, items } = await seedThread(server, { count: 2 });
    const first = await server.request("items.feedback", { thread_id: threadId, item_ids: [items[1]!.id], kind: "negative" });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, {});
    await server.request("items.feedback", { thread_id: threadId, item_ids: [items[1]!.id, items[1]!.id], kind: "positive" });
    const rows = await server.db.selectFrom("item_feedback").select(["item_id", "kind"]).where("thread_id", "=", threadId).execute();
    assert.deepEqual(rows, [{ item_id: items[1]!.id, kind: "positive" }]);

    const unknown = await server.request("items.feedback", { thread_id: threadId, item_ids: ["msg_nope"], kind: "positive" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, "item_not_found");
    const badKind = await server.request("items.feedback", { thread_id: threadId, item_ids: [items[0]!.id], kind: "meh" });
    assert.equal(badKind.status, 400);
    assert.equal(badKind.body.field, "params.kind");
  });
});
