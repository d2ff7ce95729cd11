import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defineTool, z } from "../src/index.ts";
import { startTestServer, TEST_AGENT } from "./support/app.ts";
import { eventShape, foldEvents, userInput } from "./support/client.ts";
import { lastUserText } from "./support/fake-openai.ts";
import { ownerOf } from "./support/fixtures.ts";
import { APIS, eventually, forcedToolOf, itemTrace, startAgentServer, toolExchanges, type AgentHarness } from "./support/agents.ts";

for (const api of APIS) {
  describe(`turns with tools over ${api}`, () => {
    let harness: AgentHarness;
    let slowSignal: AbortSignal | undefined;

    const tools = [
      defineTool({ name: "add", description: "Adds two numbers", parameters: z.object({ a: z.number(), b: z.number() }), handler: ({ a, b }) => a + b }),
      defineTool({
        name: "lookup_order",
        description: "Looks up an order",
        parameters: z.object({ id: z.string() }),
        composer: { label: "Order lookup" },
        handler: ({ id }) => ({ id, status: "shipped" }),
      }),
      defineTool({ name: "get_location", description: "The browser's location", parameters: z.object({ precise: z.boolean() }) }),
      defineTool({
        name: "remember",
        description: "Notes a preference",
        parameters: z.object({ note: z.string() }),
        handler: ({ note }, ctx) => {
          ctx.addHiddenContext({ preference: note });
          return "noted";
        },
      }),
      defineTool({
        name: "ask_size",
        description: "Asks the user for a size",
        parameters: z.object({}),
        handler: (_args, ctx) => {
          ctx.askUser([
            { type: "multiple_choice", id: "size", question: "Which size?", options: ["S", "M", "L"] },
            { type: "freeform", id: "note", question: "Anything else?", description: "Optional" },
          ]);
        },
      }),
      defineTool({
        name: "slow_export",
        description: "Takes a while",
        parameters: z.object({}),
        handler: (_args, ctx) => {
          slowSignal = ctx.signal;
          // Ends only when the turn is stopped (or, as a safety net, after a while).
          return new Promise((resolve) => {
            const timer = setTimeout(() => resolve("finished"), 10_000);
            ctx.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve("stopped");
            });
          });
        },
      }),
    ];

    before(async () => {
      harness = await startAgentServer(api, [{ tools }, { id: "short", tools, historyMessages: 5 }]);
    });
    after(() => harness.close());

    const list = async (threadId: string, agentId = "assistant") =>
      (await harness.server.request("items.list", { thread_id: threadId, order: "asc" }, { agentId })).body.data as any[];

    test("tool calls and results are replayed on the next turn in native form and never listed", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 2, b: 2 }, callId: "call_sum" }] }, { text: "It is 4." });
      const created = await server.stream("threads.create", { input: userInput("What is 2+2?") });
      const threadId = foldEvents(created.events).thread.id;

      const listed = await list(threadId);
      assert.deepEqual(listed.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);

      fake.queue.push({ text: "Yes." });
      const first = fake.requests.length;
      await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("Sure?") });
      const body = fake.requests[first]!.body;
      assert.deepEqual(toolExchanges(api, body), [{ callId: "call_sum", name: "add", arguments: '{"a":2,"b":2}', output: "4" }]);
      if (api === "responses") {
        assert.deepEqual(body.input.map((item: any) => item.type ?? item.role), ["user", "function_call", "function_call_output", "assistant", "user"]);
      } else {
        assert.deepEqual(body.messages.map((m: any) => m.role), ["system", "user", "assistant", "tool", "assistant", "user"]);
      }
    });

    test("retrying a message drops its turn's tool work with it: removals for what the client saw, no stale calls upstream", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 5, b: 5 }, callId: "call_old" }] }, { text: "10." });
      const created = await server.stream("threads.create", { input: userInput("5+5?") });
      const state = foldEvents(created.events);
      const [user, workflow, answer] = state.items;

      fake.queue.push({ text: "Ten." });
      const first = fake.requests.length;
      const retried = await server.stream("threads.retry_after_item", { thread_id: state.thread.id, item_id: user.id });
      const removed = retried.events.filter((event) => event.type === "thread.item.removed").map((event) => event.item_id);
      assert.deepEqual(removed.sort(), [workflow.id, answer.id].sort(), "only items the client has are announced");
      assert.deepEqual(toolExchanges(api, fake.requests[first]!.body), []);
      const after = foldEvents(retried.events, state);
      assert.deepEqual(await list(state.thread.id), after.items);
      const history = await server.store.items.history(await ownerOf(server, "alice@example.com"), state.thread.id);
      assert.ok(history.every((item) => item.type !== "sdk_tool_call"));
    });

    test("hidden context a tool adds is never listed and reaches the model on later turns", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "remember", arguments: { note: "metric units" } }] }, { text: "Noted." });
      const created = await server.stream("threads.create", { input: userInput("I like metric") });
      const state = foldEvents(created.events);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      assert.deepEqual(await list(state.thread.id), state.items);

      fake.queue.push({ text: "About 10 km." });
      const first = fake.requests.length;
      await server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("How far is it?") });
      assert.match(JSON.stringify(fake.requests[first]!.body), /\\"preference\\":\\"metric units\\"/);
    });

    test("trimming history to historyMessages never separates a call from its output", async () => {
      const { fake, server } = harness;
      const options = { agentId: "short" };
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 1, b: 1 }, callId: "call_a" }, { name: "add", arguments: { a: 2, b: 2 }, callId: "call_b" }] }, { text: "2 and 4." });
      const created = await server.stream("threads.create", { input: userInput("one") }, options);
      const threadId = foldEvents(created.events).thread.id;
      fake.queue.push({ text: "two done" });
      await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("two") }, options);

      // History now: user, call a, call b, answer, user, answer, user (7 entries); the window of 5
      // starts between the two calls of one round.
      const first = fake.requests.length;
      fake.queue.push({ text: "three done" });
      await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("three") }, options);
      const trimmed = fake.requests[first]!.body;
      assert.deepEqual(toolExchanges(api, trimmed), [], "no half of a call survives the cut");
      assert.equal(lastUserText(trimmed), "three");
      const roles = api === "responses" ? trimmed.input.map((item: any) => item.type ?? item.role) : trimmed.messages.slice(1).map((m: any) => m.role);
      assert.deepEqual(roles, ["user", "assistant", "user"]);

      // One message more in the window keeps both calls whole.
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 3, b: 3 }, callId: "call_c" }] }, { text: "6." });
      const second = fake.requests.length;
      await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("add 3+3") }, options);
      assert.deepEqual(toolExchanges(api, fake.requests[second + 1]!.body).map((e) => e.callId), ["call_c"]);
    });

    test("a browser tool ends the turn with a pending client_tool_call; its output resumes the turn", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "get_location", arguments: { precise: true }, callId: "call_loc" }] });
      const first = fake.requests.length;
      const created = await server.stream("threads.create", { input: userInput("Where am I?") });
      const state = foldEvents(created.events);
      assert.equal(fake.requests.length, first + 1, "the model waits for the browser");
      assert.deepEqual(state.errors, []);
      const pending = state.items.at(-1);
      assert.deepEqual({ ...pending, id: undefined, created_at: undefined, thread_id: undefined }, {
        id: undefined,
        created_at: undefined,
        thread_id: undefined,
        type: "client_tool_call",
        status: "pending",
        call_id: "call_loc",
        name: "get_location",
        arguments: { precise: true },
      });
      const newest = await server.request("items.list", { thread_id: state.thread.id, order: "desc", limit: 1 });
      assert.deepEqual(newest.body.data, [pending], "the pending call is the thread's newest item");

      fake.queue.push({ text: "You are in Rome." });
      const resumed = await server.stream("threads.add_client_tool_output", { thread_id: state.thread.id, result: { city: "Rome" } });
      assert.deepEqual(foldEvents(resumed.events).errors, []);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body), [{ callId: "call_loc", name: "get_location", arguments: '{"precise":true}', output: '{"city":"Rome"}' }]);
      const items = await list(state.thread.id);
      assert.deepEqual(items.map((item) => [item.type, item.status]), [
        ["user_message", undefined],
        ["client_tool_call", "completed"],
        ["assistant_message", undefined],
      ]);
      assert.equal(items[2].content[0].text, "You are in Rome.");
    });

    test("a tool asking the user ends the turn with a pending structured_input; the answers continue it", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "ask_size", callId: "call_ask" }] });
      const first = fake.requests.length;
      const created = await server.stream("threads.create", { input: userInput("Order a shirt") });
      const state = foldEvents(created.events);
      assert.equal(fake.requests.length, first + 1);
      const asked = state.items.at(-1);
      assert.equal(asked.type, "structured_input");
      assert.equal(asked.status, "pending");
      assert.deepEqual(asked.inputs, [
        { type: "multiple_choice", id: "size", question: "Which size?", options: [{ value: "S" }, { value: "M" }, { value: "L" }], multiple: false },
        { type: "freeform", id: "note", question: "Anything else?", description: "Optional" },
      ]);
      assert.deepEqual((await list(state.thread.id)).at(-1), asked, "stored as streamed");

      fake.queue.push({ text: "One M shirt coming up." });
      const answered = await server.stream("threads.add_structured_input", {
        thread_id: state.thread.id,
        item_id: asked.id,
        input: { answers: { size: { values: ["M"] }, note: { values: ["gift wrap"] } } },
      });
      assert.deepEqual(foldEvents(answered.events).errors, []);
      const body = fake.requests[first + 1]!.body;
      assert.equal(lastUserText(body), "Which size? M\nAnything else? gift wrap");
      assert.deepEqual(toolExchanges(api, body).map((e) => e.callId), ["call_ask"], "the asking call is replayed before the answers");
      assert.equal((await list(state.thread.id)).at(-1).content[0].text, "One M shirt coming up.");
    });

    test("a tool picked in the composer is forced on the first request only", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "lookup_order", arguments: { id: "9" } }] }, { text: "Shipped." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("order 9", { inference_options: { tool_choice: { id: "lookup_order" } } }) });
      assert.deepEqual(foldEvents(events).errors, []);
      assert.equal(forcedToolOf(fake.requests[first]!.body), "lookup_order");
      assert.equal(forcedToolOf(fake.requests[first + 1]!.body), "auto");
    });

    test("a composer tool the agent does not offer there is refused in the chat and nothing is stored", async () => {
      const { fake, server } = harness;
      const created = await server.stream("threads.create", { input: userInput("hello") });
      const threadId = foldEvents(created.events).thread.id;
      const before = await list(threadId);
      const requests = fake.requests.length;
      for (const id of ["no_such_tool", "add" /* a tool, but not offered in the composer */]) {
        const refused = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("x", { inference_options: { tool_choice: { id } } }) });
        assert.equal(refused.status, 200);
        assert.deepEqual(eventShape(refused.events), ["error"]);
        assert.match(refused.events[0]!.message, /not available/);
      }
      assert.equal(fake.requests.length, requests, "no model call");
      assert.deepEqual(await list(threadId), before);
    });

    test("stopping the stream during a slow tool aborts the handler's signal and leaves a readable thread", async () => {
      const { fake, server } = harness;
      slowSignal = undefined;
      fake.queue.push({ toolCalls: [{ name: "slow_export", callId: "call_slow" }] });
      const seen = await server.streamUntil("threads.create", { input: userInput("Export everything") }, (event) => event.type === "thread.item.updated" && event.update.type === "workflow.task.added");
      const threadId = foldEvents(seen).thread.id;
      await eventually(() => slowSignal?.aborted === true);

      await eventually(async () => (await list(threadId)).length > 0);
      const items = await list(threadId);
      assert.deepEqual(items.map((item) => item.type), ["user_message"], "no half-finished workflow or tool item");
      const history = await server.store.items.history(await ownerOf(server, "alice@example.com"), threadId);
      assert.ok(history.every((item) => item.type !== "sdk_tool_call"), "no tool call stored without its output");

      fake.queue.push({ text: "Fine, not exporting." });
      const first = fake.requests.length;
      const next = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("Never mind") });
      assert.deepEqual(foldEvents(next.events).errors, []);
      assert.deepEqual(toolExchanges(api, fake.requests[first]!.body), []);
    });
  });
}

describe("the local responder with tools", () => {
  test("calls a configured tool the message names, then answers in text with its result", async () => {
    const rolls: unknown[] = [];
    const server = await startTestServer({
      config: {
        agents: [
          {
            ...TEST_AGENT,
            tools: [defineTool({ name: "roll_dice", description: "Rolls a die", parameters: z.object({ sides: z.number().default(6) }), handler: (args) => (rolls.push(args), { rolled: 4 }) })],
          },
        ],
      },
    });
    try {
      const { events } = await server.stream("threads.create", { input: userInput("Please roll dice for me") });
      const state = foldEvents(events);
      assert.deepEqual(rolls, [{ sides: 6 }]);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(itemTrace(events).filter((entry) => entry.includes("workflow") || entry.includes("task")), [
        "added:workflow",
        "task.added:loading",
        "task.updated:complete",
        "done:workflow",
      ]);
      const answer = state.items.at(-1);
      assert.equal(answer.type, "assistant_message");
      assert.match(answer.content[0].text, /roll_dice/);
      assert.match(answer.content[0].text, /\{"rolled":4\}/);

      const plain = foldEvents((await server.stream("threads.create", { input: userInput("hello there") })).events);
      assert.deepEqual(plain.items.map((item) => item.type), ["user_message", "assistant_message"], "no tool when none is named");
      assert.deepEqual(rolls.length, 1);
    } finally {
      await server.close({ removeData: true });
    }
  });
});
