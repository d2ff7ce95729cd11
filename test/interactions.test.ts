import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { defineAction } from "../src/index.ts";
import type { ThreadItem } from "../src/protocol/items.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { eventShape, foldEvents } from "./support/client.ts";
import { lastUserText, type FakeOpenAI } from "./support/fake-openai.ts";
import { seedThread } from "./support/fixtures.ts";

const TURN = ["progress_update", "thread.item.added", "updated:added", "updated:text_delta", "updated:done", "thread.item.done"];

describe("client tools, structured input and widget actions", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    const agent = {
      ...TEST_AGENT,
      actions: {
        book: defineAction({
          payload: z.object({ hotel: z.string() }),
          handler: ({ payload }, ctx) => {
            ctx.updateSender({ type: "Card", children: [{ type: "Text", value: `Booked ${payload.hotel}` }] });
            ctx.respond();
          },
        }),
        toggle: defineAction({ handler: (_action, ctx) => ctx.updateSender({ type: "Card", children: [{ type: "Badge", label: "on" }] }) }),
        noop: defineAction({ handler: () => {} }),
      },
    };
    server = await startTestServer({ upstream: { echo: true }, config: { agents: [agent] } });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  async function addItem(threadId: string, owner: any, fields: Record<string, unknown>): Promise<ThreadItem> {
    const item = { id: newId("message"), thread_id: threadId, created_at: toIso(monotonicNow()), ...fields } as ThreadItem;
    await server.store.items.add(owner, item);
    return item;
  }

  test("threads.add_client_tool_output completes the pending call, drops stale ones and continues", async () => {
    const { threadId, owner } = await seedThread(server, { count: 1 });
    const stale = await addItem(threadId, owner, { type: "client_tool_call", status: "pending", call_id: "c0", name: "get_location", arguments: {} });
    const call = await addItem(threadId, owner, { type: "client_tool_call", status: "pending", call_id: "c1", name: "get_location", arguments: { precise: true } });

    const { events } = await server.stream("threads.add_client_tool_output", { thread_id: threadId, result: { city: "Rome" } });
    assert.deepEqual(eventShape(events), ["stream_options", ...TURN]);
    const stored = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    assert.deepEqual(stored.map((i: any) => i.id).includes(stale.id), false, "the stale pending call is gone");
    const completed = stored.find((i: any) => i.id === call.id);
    assert.equal(completed.status, "completed");
    assert.deepEqual(completed.output, { city: "Rome" });
    const input = fake.requests.at(-1)!.body.input as any[];
    assert.deepEqual(input.slice(-2), [
      { type: "function_call", call_id: "c1", name: "get_location", arguments: '{"precise":true}' },
      { type: "function_call_output", call_id: "c1", output: '{"city":"Rome"}' },
    ]);

    const again = await server.request("threads.add_client_tool_output", { thread_id: threadId, result: {} });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, "no_pending_tool_call");
  });

  test("threads.add_structured_input replaces the item with its answers, then the agent continues", async () => {
    const { threadId, owner } = await seedThread(server, { count: 1 });
    const asked = await addItem(threadId, owner, {
      type: "structured_input",
      status: "pending",
      inputs: [
        { type: "multiple_choice", id: "priority", question: "What priority?", options: [{ value: "Low" }, { value: "High" }], multiple: false },
        { type: "freeform", id: "notes", question: "Any notes?" },
      ],
    });
    const { events } = await server.stream("threads.add_structured_input", {
      thread_id: threadId,
      item_id: asked.id,
      input: { answers: { priority: { values: ["High", "Low"] }, notes: { values: [], skipped: true }, unknown: { values: ["x"] } } },
    });
    assert.deepEqual(eventShape(events), ["stream_options", "thread.item.replaced", ...TURN]);
    const replaced = events[1]!.item;
    assert.equal(replaced.status, "answered");
    assert.deepEqual(replaced.inputs.map((i: any) => i.answer), [{ values: ["High"], skipped: false }, { values: [], skipped: true }]);
    const stored = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    assert.deepEqual(stored.find((i: any) => i.id === asked.id), replaced);
    assert.equal(lastUserText(fake.requests.at(-1)!.body), "What priority? High\nAny notes? (skipped)");

    const twice = await server.request("threads.add_structured_input", { thread_id: threadId, item_id: asked.id, input: { answers: {} } });
    assert.equal(twice.status, 409);
  });

  test("threads.custom_action runs the agent's handler, which replaces its widget and lets the model answer", async () => {
    const { threadId, owner } = await seedThread(server, { count: 1 });
    const widget = await addItem(threadId, owner, { type: "widget", widget: { type: "Card", children: [{ type: "Button", label: "Book" }] } });
    const { events } = await server.stream("threads.custom_action", {
      thread_id: threadId,
      item_id: widget.id,
      action: { type: "book", payload: { hotel: "h_1" } },
    });
    assert.deepEqual(eventShape(events), ["stream_options", "thread.item.replaced", ...TURN]);
    assert.deepEqual(events[1]!.item.widget, { type: "Card", children: [{ type: "Text", value: "Booked h_1" }] });
    const seen = JSON.parse(lastUserText(fake.requests.at(-1)!.body));
    assert.deepEqual(seen, { event: "widget_action", action: { type: "book", payload: { hotel: "h_1" } }, widget_item_id: widget.id });
    const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    assert.ok(listed.every((i: any) => i.type !== "hidden_context_item"));
    assert.deepEqual(listed.find((i: any) => i.id === widget.id).widget, events[1]!.item.widget, "the replaced widget is stored");

    const user = listed.find((i: any) => i.type === "user_message");
    const requestsBefore = fake.requests.length;
    const notWidget = await server.stream("threads.custom_action", { thread_id: threadId, item_id: user.id, action: { type: "book", payload: { hotel: "h_1" } } });
    assert.deepEqual(eventShape(notWidget.events), ["error"]);
    assert.equal(notWidget.events[0]!.allow_retry, false);
    const unknown = await server.stream("threads.custom_action", { thread_id: threadId, item_id: widget.id, action: { type: "no.such.action" } });
    assert.deepEqual(eventShape(unknown.events), ["error"]);
    assert.match(unknown.events[0]!.message, /no handler/);
    const badPayload = await server.stream("threads.custom_action", { thread_id: threadId, item_id: widget.id, action: { type: "book", payload: { hotel: 42 } } });
    assert.deepEqual(eventShape(badPayload.events), ["error"]);
    assert.match(badPayload.events[0]!.message, /payload/);
    assert.equal(fake.requests.length, requestsBefore, "refused actions run no model");
    const missing = await server.request("threads.custom_action", { thread_id: threadId, item_id: "msg_nope", action: { type: "book" } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, "item_not_found");
  });

  test("threads.sync_custom_action answers JSON with the updated widget, storing it", async () => {
    const { threadId, owner } = await seedThread(server, { count: 1 });
    const widget = await addItem(threadId, owner, { type: "widget", widget: { type: "Card", children: [] } });
    const result = await server.request("threads.sync_custom_action", { thread_id: threadId, item_id: widget.id, action: { type: "toggle" } });
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { updated_item: { ...widget, widget: { type: "Card", children: [{ type: "Badge", label: "on" }] } } });
    const noop = await server.request("threads.sync_custom_action", { thread_id: threadId, action: { type: "noop" } });
    assert.deepEqual(noop.body, {});
    const unknown = await server.request("threads.sync_custom_action", { thread_id: threadId, action: { type: "no.such.action" } });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error, "action_not_handled");
    const history = await server.store.items.history(owner, threadId);
    assert.deepEqual(history.find((item) => item.id === widget.id), result.body.updated_item);
    assert.ok(history.every((item) => item.type !== "hidden_context_item"), "an action the model does not answer is not recorded for it");
    const missing = await server.request("threads.sync_custom_action", { thread_id: "thr_nope", action: { type: "toggle" } });
    assert.equal(missing.status, 404);
  });
});
