import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { action, defineAction, widget, z } from "../src/index.ts";
import type { ThreadItem, WidgetItem } from "../src/protocol/items.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { eventShape, foldEvents, userInput } from "./support/client.ts";
import { lastUserText } from "./support/fake-openai.ts";
import { readSse } from "./support/sse.ts";
import { seedThread } from "./support/fixtures.ts";
import { APIS, itemTrace, startAgentServer, type AgentHarness } from "./support/agents.ts";

const orderCard = (status: string) =>
  widget.Card({
    children: [
      widget.Text({ id: "status", value: status }),
      widget.Button({ label: "Cancel", onClickAction: action("order.cancel", { id: "42" }) }),
    ],
  });

const actions = {
  "order.cancel": defineAction({
    payload: z.object({ id: z.string() }),
    handler: ({ payload }, ctx) => {
      ctx.updateSender(orderCard(`Order ${payload.id} cancelled`), { copyText: "cancelled" });
      ctx.say(`I cancelled order ${payload.id}.`);
      ctx.effect("confetti", { amount: 3 });
      ctx.respond();
    },
  }),
  "order.note": defineAction({
    payload: z.object({ id: z.string() }),
    handler: ({ payload }, ctx) => {
      ctx.say(`Noted order ${payload.id}.`);
    },
  }),
  "order.toggle": defineAction({
    handler: (_action, ctx) => {
      const current = ctx.sender!.widget.children![0]!.value;
      ctx.updateSender(orderCard(current === "on" ? "off" : "on"));
    },
  }),
  "order.track": defineAction({
    handler: (_action, ctx) => {
      // Never marked done: the server finishes it when the handler returns.
      ctx.startWidget(widget.Card({ children: [widget.Text({ id: "eta", value: "Arriving Monday" })] }));
    },
  }),
  "order.receipt": defineAction({
    handler: async (_action, ctx) => {
      async function* frames() {
        yield widget.Card({ children: [widget.Markdown({ id: "receipt", value: "**Receipt**", streaming: true })] });
        yield widget.Card({ children: [widget.Markdown({ id: "receipt", value: "**Receipt**\n\n1 × shirt", streaming: true })] });
      }
      await ctx.widget(frames(), { copyText: "Receipt: 1 shirt" });
    },
  }),
  "order.crash": defineAction({
    handler: () => {
      throw new Error("database exploded with secret details");
    },
  }),
};

async function addWidget(harness: AgentHarness, threadId: string, owner: Parameters<AgentHarness["server"]["store"]["items"]["add"]>[0], status: string): Promise<WidgetItem> {
  const item = { id: newId("message"), thread_id: threadId, created_at: toIso(monotonicNow()), type: "widget", widget: orderCard(status) } as ThreadItem as WidgetItem;
  await harness.server.store.items.add(owner, item);
  return item;
}

for (const api of APIS) {
  describe(`custom actions over ${api}`, () => {
    let harness: AgentHarness;
    before(async () => {
      harness = await startAgentServer(api, [{ actions }]);
    });
    after(() => harness.close());

    test("a handled action replaces its widget, adds a message, sends effects, and the model answers seeing the action", async () => {
      const { server, fake } = harness;
      const { threadId, owner } = await seedThread(server, { count: 2 });
      const sender = await addWidget(harness, threadId, owner, "Order 42 shipped");
      fake.queue.push({ text: "Anything else?" });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.cancel", payload: { id: "42" } } });

      assert.deepEqual(itemTrace(events), ["replaced:widget", "done:assistant_message", "client_effect", "progress_update", "added:assistant_message", "done:assistant_message"]);
      const replaced = events.find((event) => event.type === "thread.item.replaced")!.item;
      assert.deepEqual(replaced, { ...sender, widget: orderCard("Order 42 cancelled"), copy_text: "cancelled" });
      const effect = events.find((event) => event.type === "client_effect")!;
      assert.deepEqual(effect, { type: "client_effect", name: "confetti", data: { amount: 3 } });

      assert.equal(fake.requests.length, first + 1, "respond() ran one model turn");
      const body = fake.requests[first]!.body;
      const seen = JSON.parse(lastUserText(body));
      assert.deepEqual(seen, { event: "widget_action", action: { type: "order.cancel", payload: { id: "42" } }, widget_item_id: sender.id });
      const said = api === "responses" ? body.input.at(-2) : body.messages.at(-2);
      assert.deepEqual(said, { role: "assistant", content: "I cancelled order 42." }, "the model sees what the handler said, then the action");

      const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
      assert.deepEqual(listed.find((item: any) => item.id === sender.id), replaced, "the replaced widget is stored");
      assert.deepEqual(listed.slice(-2).map((item: any) => item.content[0].text), ["I cancelled order 42.", "Anything else?"]);
      assert.deepEqual(foldEvents(events).items.map((item) => item.type), ["widget", "assistant_message", "assistant_message"]);
    });

    test("an action can stream a new widget into the thread, stored as the client folded it", async () => {
      const { server } = harness;
      const { threadId } = await seedThread(server, { count: 2 });
      const { events } = await server.stream("threads.custom_action", { thread_id: threadId, action: { type: "order.receipt" } });
      assert.deepEqual(itemTrace(events), ["added:widget", "widget.streaming_text.value_delta", "done:widget"]);
      const folded = foldEvents(events).items[0];
      assert.equal(folded.widget.children[0].value, "**Receipt**\n\n1 × shirt");
      const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
      assert.deepEqual(listed.at(-1), folded);
    });

    test("an action without respond() runs no model", async () => {
      const { server, fake } = harness;
      const { threadId } = await seedThread(server, { count: 2 });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.custom_action", { thread_id: threadId, action: { type: "order.note", payload: { id: "7" } } });
      assert.deepEqual(itemTrace(events), ["done:assistant_message"]);
      assert.equal(fake.requests.length, first);
    });

    test("an action type with no handler, or a payload its schema refuses, ends with an error event and runs nothing", async () => {
      const { server, fake } = harness;
      const { threadId, owner } = await seedThread(server, { count: 2 });
      const sender = await addWidget(harness, threadId, owner, "Order 42 shipped");
      const before = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
      const first = fake.requests.length;

      const unhandled = await server.stream("threads.custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.refund", payload: { id: "42" } } });
      assert.equal(unhandled.status, 200);
      assert.deepEqual(eventShape(unhandled.events), ["error"]);
      assert.equal(unhandled.events[0]!.message, "This agent has no handler for that action.");
      for (const payload of [{ id: 42 }, {}, undefined]) {
        const bad = await server.stream("threads.custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.cancel", ...(payload ? { payload } : {}) } });
        assert.deepEqual(eventShape(bad.events), ["error"], JSON.stringify(payload));
        assert.equal(bad.events[0]!.message, "The action's payload is not what its handler expects.");
      }
      assert.equal(fake.requests.length, first, "no model call");
      assert.deepEqual((await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data, before, "nothing stored or changed");
    });

    test("a handler that throws ends the stream with the generic action_failed error and is logged", async () => {
      const { server, fake } = harness;
      const { threadId } = await seedThread(server, { count: 2 });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.custom_action", { thread_id: threadId, action: { type: "order.crash" } });
      assert.deepEqual(eventShape(events), ["stream_options", "error"]);
      assert.equal(events.at(-1)!.message, "The action could not be completed. The server log has the details.");
      assert.equal(events.at(-1)!.allow_retry, false);
      assert.doesNotMatch(JSON.stringify(events), /secret details/, "the handler's message is not shown to the user");
      assert.ok(server.logger.lines.some((line) => line.includes('action "order.crash" failed') && line.includes("secret details")));
      assert.equal(fake.requests.length, first);
      const listed = await server.request("items.list", { thread_id: threadId, order: "asc" });
      assert.equal(listed.status, 200, "the thread stays readable");
    });
  });
}

describe("sync custom actions", () => {
  let harness: AgentHarness;
  before(async () => {
    harness = await startAgentServer("responses", [{ actions }]);
  });
  after(() => harness.close());

  test("a sync action is answered with the updated widget while an answer streams in the same thread", async () => {
    const { server, fake } = harness;
    const { threadId, owner } = await seedThread(server, { count: 2 });
    const sender = await addWidget(harness, threadId, owner, "off");
    // A slow answer: 12 words, 60 ms apart.
    fake.queue.push({ text: "one two three four five six seven eight nine ten eleven twelve", delayMs: 60 });

    const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}` },
      body: JSON.stringify({ type: "threads.add_user_message", params: { thread_id: threadId, input: userInput("count slowly") } }),
    });
    const events = [];
    let synced: { status: number; body: any } | undefined;
    let deltasAfterSync = 0;
    for await (const event of readSse(response)) {
      events.push(event);
      if (event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta") {
        if (synced) deltasAfterSync++;
        else synced = await server.request("threads.sync_custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.toggle" } });
      }
    }
    assert.ok(synced, "the stream reached its first text delta");
    assert.equal(synced.status, 200);
    assert.deepEqual(synced.body, { updated_item: { ...sender, widget: orderCard("on") } });
    assert.ok(deltasAfterSync > 0, "the sync answer came back before the stream ended");
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    assert.equal(state.items.at(-1).content[0].text, "one two three four five six seven eight nine ten eleven twelve");

    const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    assert.deepEqual(listed.find((item: any) => item.id === sender.id).widget, orderCard("on"), "the stream did not overwrite the widget");
    assert.equal(listed.at(-1).content[0].text, state.items.at(-1).content[0].text);
  });

  test("a sync action's say() is stored for the next load, and its refusals answer JSON errors", async () => {
    const { server, fake } = harness;
    const { threadId, owner } = await seedThread(server, { count: 2 });
    const sender = await addWidget(harness, threadId, owner, "off");
    const first = fake.requests.length;
    const noted = await server.request("threads.sync_custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.note", payload: { id: "5" } } });
    assert.deepEqual(noted.body, {});
    const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    assert.equal(listed.at(-1).content[0].text, "Noted order 5.");

    await server.request("threads.sync_custom_action", { thread_id: threadId, action: { type: "order.track" } });
    const tracked = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data.at(-1);
    assert.equal(tracked.type, "widget", "a widget the handler left open is stored");
    assert.deepEqual(tracked.widget, { type: "Card", children: [{ type: "Text", id: "eta", value: "Arriving Monday" }] });

    const bad = await server.request("threads.sync_custom_action", { thread_id: threadId, item_id: sender.id, action: { type: "order.cancel", payload: { id: 5 } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "action_payload_invalid");
    const crash = await server.request("threads.sync_custom_action", { thread_id: threadId, action: { type: "order.crash" } });
    assert.equal(crash.status, 500);
    assert.equal(crash.body.error, "action_failed");
    assert.doesNotMatch(JSON.stringify(crash.body), /secret details/);
    assert.equal(fake.requests.length, first, "a sync action never runs the model");
  });
});
