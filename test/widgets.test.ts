import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Widgets } from "@openai/chatkit";
import { action, defineTool, diffWidget, replaceComponent, widget, z, type WidgetRoot } from "../src/index.ts";
import type { WidgetItem } from "../src/protocol/items.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { itemTrace, startAgentServer, type AgentHarness } from "./support/agents.ts";

const card = (...children: Widgets.WidgetComponent[]) => widget.Card({ children });

describe("the widget builder", () => {
  test("builds the official widget types, and a misspelled prop fails the type check", () => {
    const built = widget.Card({
      size: "md",
      children: [
        widget.Title({ value: "Order 42" }),
        widget.Text({ id: "status", value: "Shipped", streaming: false }),
        widget.Row({ children: [widget.Badge({ label: "paid", color: "success" }), widget.Spacer({})] }),
        widget.Button({ label: "Cancel", onClickAction: action("order.cancel", { id: "42" }, { streaming: false }) }),
      ],
    });
    // Compile time: the builder's output is the official root type, not a copy of it.
    const root: Widgets.WidgetRoot = built;
    // @ts-expect-error `vaule` is not a Text prop: the official types catch the typo.
    widget.Text({ vaule: "typo" });
    // @ts-expect-error a Badge's color is one of the official theme colors.
    widget.Badge({ label: "x", color: "chartreuse-ish" });
    // @ts-expect-error a Card's children are components, not a root.
    widget.Card({ children: [widget.Card({ children: [] })] });
    assert.deepEqual(root, {
      type: "Card",
      size: "md",
      children: [
        { type: "Title", value: "Order 42" },
        { type: "Text", id: "status", value: "Shipped", streaming: false },
        { type: "Row", children: [{ type: "Badge", label: "paid", color: "success" }, { type: "Spacer" }] },
        { type: "Button", label: "Cancel", onClickAction: { type: "order.cancel", payload: { id: "42" }, streaming: false } },
      ],
    });
  });
});

describe("diffWidget (chatkit-python's diff_widget)", () => {
  const text = (value: string, extra: Partial<Widgets.TextComponent> = {}) => widget.Text({ id: "t", value, ...extra });

  test("an unchanged widget yields no update", () => {
    assert.deepEqual(diffWidget(card(text("Hello")), card(text("Hello"))), []);
  });

  test("text that only grew in a Text with an id is a value delta, done unless still streaming", () => {
    assert.deepEqual(diffWidget(card(text("Hel", { streaming: true })), card(text("Hello", { streaming: true }))), [
      { type: "widget.streaming_text.value_delta", component_id: "t", delta: "lo", done: false },
    ]);
    assert.deepEqual(diffWidget(card(text("Hel")), card(text("Hello"))), [{ type: "widget.streaming_text.value_delta", component_id: "t", delta: "lo", done: true }]);
  });

  test("Markdown streams the same way, and every grown node gets its own delta", () => {
    const before = card(widget.Markdown({ id: "a", value: "# T" }), widget.Text({ id: "b", value: "x" }));
    const after = card(widget.Markdown({ id: "a", value: "# Title" }), widget.Text({ id: "b", value: "xy" }));
    assert.deepEqual(diffWidget(before, after), [
      { type: "widget.streaming_text.value_delta", component_id: "a", delta: "itle", done: true },
      { type: "widget.streaming_text.value_delta", component_id: "b", delta: "y", done: true },
    ]);
  });

  test("grown text without an id sends nothing, as the reference does", () => {
    assert.deepEqual(diffWidget(card(widget.Text({ value: "a" })), card(widget.Text({ value: "ab" }))), []);
  });

  test("text that changed other than by growing replaces the whole root", () => {
    const after = card(text("Goodbye"));
    assert.deepEqual(diffWidget(card(text("Hello")), after), [{ type: "widget.root.updated", widget: after }]);
  });

  test("a structural change (children, type, id, key, other props) replaces the whole root", () => {
    const base = card(text("Hello"));
    const changes: WidgetRoot[] = [
      card(text("Hello"), widget.Divider({})),
      card(),
      card(widget.Markdown({ id: "t", value: "Hello" })),
      card(widget.Text({ id: "u", value: "Hello" })),
      card(text("Hello", { key: "k" })),
      card(text("Hello", { italic: true })),
      card(text("Hello", { streaming: true })),
      widget.Card({ children: [text("Hello")], size: "lg" }),
      widget.ListView({ children: [] }),
    ];
    for (const after of changes) assert.deepEqual(diffWidget(base, after), [{ type: "widget.root.updated", widget: after }], JSON.stringify(after));
  });

  test("a changed action payload deep in the tree replaces the root; an equal one does not", () => {
    const button = (id: string) => widget.Button({ label: "Go", onClickAction: action("go", { id }) });
    assert.deepEqual(diffWidget(card(button("1")), card(button("1"))), []);
    const after = card(button("2"));
    assert.deepEqual(diffWidget(card(button("1")), after), [{ type: "widget.root.updated", widget: after }]);
  });
});

describe("replaceComponent", () => {
  test("swaps the component with an id in a copy of the tree", () => {
    const before = card(widget.Row({ children: [widget.Text({ id: "status", value: "Open" })] }), widget.Divider({}));
    const after = replaceComponent(before, "status", widget.Badge({ id: "status", label: "Closed" }));
    assert.deepEqual(after, card(widget.Row({ children: [widget.Badge({ id: "status", label: "Closed" })] }), widget.Divider({})));
    assert.deepEqual(before.children[0], widget.Row({ children: [widget.Text({ id: "status", value: "Open" })] }), "the original is unchanged");
    assert.deepEqual(replaceComponent(before, "missing", widget.Divider({})), before);
  });
});

describe("widgets from tools", () => {
  let harness: AgentHarness;
  const steps = ["Pack", "Packing", "Packing the order", "Packing the order…"];

  before(async () => {
    harness = await startAgentServer("responses", [
      {
        tools: [
          defineTool({
            name: "show_order",
            description: "Shows an order",
            parameters: z.object({}),
            handler: async (_args, ctx) => {
              await ctx.widget(card(widget.Title({ value: "Order 42" }), widget.Text({ value: "Shipped" })), { copyText: "Order 42: shipped" });
              return "shown";
            },
          }),
          defineTool({
            name: "stream_status",
            description: "Streams a status widget",
            parameters: z.object({}),
            handler: async (_args, ctx) => {
              async function* frames(): AsyncGenerator<WidgetRoot> {
                for (const step of steps) yield card(widget.Text({ id: "status", value: step, streaming: true }));
                yield card(widget.Text({ id: "status", value: steps.at(-1)!, streaming: true }), widget.Badge({ label: "done" }));
              }
              await ctx.widget(frames());
              return "streamed";
            },
          }),
          defineTool({
            name: "swap_badge",
            description: "Replaces one component",
            parameters: z.object({}),
            handler: async (_args, ctx) => {
              const handle = ctx.startWidget(card(widget.Row({ children: [widget.Badge({ id: "state", label: "pending" }), widget.Text({ value: "Order 42" })] })));
              handle.updateComponent("state", widget.Badge({ id: "state", label: "paid", color: "success" }));
              assert.throws(() => handle.updateComponent("nope", widget.Divider({})), /no component with id "nope"/);
              handle.done();
              return "swapped";
            },
          }),
          defineTool({
            name: "forgetful",
            description: "Starts a widget and never marks it done",
            parameters: z.object({}),
            handler: async (_args, ctx) => {
              const handle = ctx.startWidget(card(widget.Text({ id: "progress", value: "Step 1" })));
              handle.update(card(widget.Text({ id: "progress", value: "Step 1, step 2" })));
              return "left open";
            },
          }),
          defineTool({
            name: "track",
            description: "Updates a widget step by step",
            parameters: z.object({}),
            handler: async (_args, ctx) => {
              const handle = ctx.startWidget(card(widget.Text({ id: "eta", value: "ETA" })));
              handle.update(card(widget.Text({ id: "eta", value: "ETA: 3 days" })));
              handle.update(card(widget.Text({ id: "eta", value: "ETA: 3 days" }), widget.Button({ label: "Refresh" })));
              handle.done();
              assert.throws(() => handle.update(card()), /already done/);
              return handle.itemId;
            },
          }),
        ],
      },
    ]);
  });
  after(() => harness.close());

  async function run(tool: string) {
    harness.fake.queue.push({ toolCalls: [{ name: tool }] }, { text: "There it is." });
    const { events } = await harness.server.stream("threads.create", { input: userInput(`use ${tool}`) });
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    const stored = (await harness.server.request("items.list", { thread_id: state.thread.id, order: "asc" })).body.data as any[];
    return { events, state, stored };
  }

  test("ctx.widget(root) puts a widget item into the thread, stored as streamed", async () => {
    const { events, state, stored } = await run("show_order");
    assert.deepEqual(
      itemTrace(events).filter((entry) => entry.includes("widget")),
      ["done:widget"],
    );
    const item: WidgetItem = state.items.find((i) => i.type === "widget");
    assert.deepEqual(item.widget, { type: "Card", children: [{ type: "Title", value: "Order 42" }, { type: "Text", value: "Shipped" }] });
    assert.equal(item.copy_text, "Order 42: shipped");
    assert.deepEqual(stored.find((i) => i.type === "widget"), item);
    assert.deepEqual(stored.map((i) => i.type), ["user_message", "workflow", "widget", "assistant_message"]);
    assert.deepEqual(harness.fake.requests.at(-1)!.body.input.at(-1), { type: "function_call_output", call_id: harness.fake.requests.at(-1)!.body.input.at(-2).call_id, output: "shown" });
  });

  test("a streamed widget sends growing text as value deltas and structural change as root updates; the stored item equals the client's", async () => {
    const { events, state, stored } = await run("stream_status");
    assert.deepEqual(
      itemTrace(events).filter((entry) => entry.includes("widget")),
      ["added:widget", "widget.streaming_text.value_delta", "widget.streaming_text.value_delta", "widget.streaming_text.value_delta", "widget.root.updated", "done:widget"],
    );
    const deltas = events.filter((event) => event.type === "thread.item.updated" && event.update.type === "widget.streaming_text.value_delta").map((event) => event.update);
    assert.deepEqual(deltas, [
      { type: "widget.streaming_text.value_delta", component_id: "status", delta: "ing", done: false },
      { type: "widget.streaming_text.value_delta", component_id: "status", delta: " the order", done: false },
      { type: "widget.streaming_text.value_delta", component_id: "status", delta: "…", done: false },
    ]);
    const folded = state.items.find((item) => item.type === "widget");
    assert.deepEqual(folded.widget, card(widget.Text({ id: "status", value: "Packing the order…", streaming: true }), widget.Badge({ label: "done" })));
    assert.deepEqual(stored.find((item) => item.type === "widget"), folded);
  });

  test("updateComponent sends widget.component.updated for the one component; the stored item equals the client's", async () => {
    const { events, state, stored } = await run("swap_badge");
    assert.deepEqual(
      itemTrace(events).filter((entry) => entry.includes("widget")),
      ["added:widget", "widget.component.updated", "done:widget"],
    );
    const update = events.find((event) => event.type === "thread.item.updated" && event.update.type === "widget.component.updated")!.update;
    assert.deepEqual(update, { type: "widget.component.updated", component_id: "state", component: { type: "Badge", id: "state", label: "paid", color: "success" } });
    const folded = state.items.find((item) => item.type === "widget");
    assert.deepEqual(folded.widget, card(widget.Row({ children: [widget.Badge({ id: "state", label: "paid", color: "success" }), widget.Text({ value: "Order 42" })] })));
    assert.deepEqual(stored.find((item) => item.type === "widget"), folded);
  });

  test("a widget its handler left open is finished when the handler returns, so a reload shows it", async () => {
    const { events, state, stored } = await run("forgetful");
    assert.deepEqual(itemTrace(events).filter((entry) => entry.includes("widget")), ["added:widget", "widget.streaming_text.value_delta", "done:widget"]);
    const folded = state.items.find((item) => item.type === "widget");
    assert.deepEqual(folded.widget, card(widget.Text({ id: "progress", value: "Step 1, step 2" })));
    assert.deepEqual(stored.find((item) => item.type === "widget"), folded);
  });

  test("startWidget, update and done stream the same way and return the item's id", async () => {
    const { events, state, stored } = await run("track");
    assert.deepEqual(
      itemTrace(events).filter((entry) => entry.includes("widget")),
      ["added:widget", "widget.streaming_text.value_delta", "widget.root.updated", "done:widget"],
    );
    const folded = state.items.find((item) => item.type === "widget");
    assert.deepEqual(folded.widget, card(widget.Text({ id: "eta", value: "ETA: 3 days" }), widget.Button({ label: "Refresh" })));
    assert.deepEqual(stored.find((item) => item.type === "widget"), folded);
    const output = harness.fake.requests.at(-1)!.body.input.at(-1).output;
    assert.equal(output, folded.id, "the handle's id is the item's");
  });
});
