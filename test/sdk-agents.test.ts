import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Agent, getGlobalTraceProvider, NoopTrace, tool, type InputGuardrail } from "@openai/agents";
import { defineTool, widget, z, type ChatKitAgentContext } from "../src/index.ts";
import { APIS, eventually, startAgentServer, toolExchanges, type AgentHarness, type Api } from "./support/agents.ts";
import { startTestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { lastUserText } from "./support/fake-openai.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;

/** The system instructions a recorded request carried, whatever the flavour. */
function instructionsOf(api: Api, body: any): string {
  return api === "responses" ? body.instructions : body.messages.find((message: any) => message.role === "system")?.content;
}

/** Every fetch the test process makes (the box's upstream client uses node:http, not fetch). */
const fetches: string[] = [];
/** The test servers' own origins: the tests' requests to them are the only fetches expected. */
const serverOrigins = new Set<string>();

/** What the slow guardrail waits for before it trips; each test that uses it says. */
let modelAnswered: () => Promise<unknown> = async () => {};

function agents() {
  const lookups: string[] = [];
  const lookupOrder = tool({
    name: "lookup_order",
    description: "Looks up an order",
    parameters: z.object({ id: z.string() }),
    execute: async ({ id }) => {
      lookups.push(id);
      return { id, status: "shipped" };
    },
  });
  const showCard = tool<z.ZodObject<{ title: z.ZodString }>, ChatKitAgentContext>({
    name: "show_card",
    description: "Shows the user a card",
    parameters: z.object({ title: z.string() }),
    execute: async ({ title }, runContext) => {
      await runContext!.context.widget(widget.Card({ children: [widget.Title({ value: title })] }), { copyText: title });
      return "shown";
    },
  });
  const askSize = tool<z.ZodObject<{}>, ChatKitAgentContext>({
    name: "ask_size",
    description: "Asks the user which size they want",
    parameters: z.object({}),
    execute: async (_args, runContext) => {
      runContext!.context.askUser([{ type: "multiple_choice", id: "size", question: "Which size?", options: ["S", "M"] }]);
      return "The user was asked.";
    },
  });
  const noSecrets: InputGuardrail = {
    name: "no_secrets",
    // Runs before the model is asked, so a trip costs no model request.
    runInParallel: false,
    execute: async ({ input }) => {
      const text = JSON.stringify(input);
      return { tripwireTriggered: text.includes("launch codes"), outputInfo: { message: "I can't discuss launch codes." } };
    },
  };
  // Runs beside the model's first request (the SDK's default): what streamed before the trip is withdrawn.
  const noGossip: InputGuardrail = {
    name: "no_gossip",
    execute: async ({ input }) => {
      const gossip = JSON.stringify(input).includes("gossip");
      // Trips only once the model's answer has streamed, so there is an answer to withdraw.
      if (gossip) await modelAnswered();
      return { tripwireTriggered: gossip, outputInfo: "No gossip here." };
    },
  };
  const weather = new Agent({ name: "Weather", instructions: "weather-instructions", model: "weather-model" });
  const triage = new Agent<ChatKitAgentContext>({
    name: "Triage",
    instructions: "triage-instructions",
    model: "triage-model",
    tools: [lookupOrder, showCard, askSize],
    handoffs: [weather],
    inputGuardrails: [noSecrets, noGossip],
  });
  return { triage, lookups };
}

before(() => {
  const original = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    fetches.push(String(input instanceof Request ? input.url : input));
    return original(input, init);
  };
});

for (const api of APIS) {
  describe(`an Agents SDK agent over ${api}`, () => {
    let harness: AgentHarness;
    const { triage, lookups } = agents();
    const boxTool = defineTool({ name: "box_time", description: "The box's clock", parameters: z.object({}), title: "Reading the clock…", handler: () => "12:00" });
    const list = async (threadId: string) => (await harness.server.request("items.list", { thread_id: threadId, order: "asc" })).body.data as any[];

    before(async () => {
      const demo = { command: process.execPath, args: ["--import", "tsx", "test/support/mcp-server.ts"], cwd: REPO_ROOT, tools: ["add"] };
      harness = await startAgentServer(api, [{ model: undefined, sdkAgent: triage, tools: [boxTool], mcpServers: { demo } }]);
      serverOrigins.add(new URL(harness.server.url).origin);
    });
    after(() => harness.close());

    test("streams text from the entry agent against the configured upstream", async () => {
      const { fake, server } = harness;
      fake.queue.push({ text: "Hello from triage." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("hi") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.equal(state.items.at(-1).content[0].text, "Hello from triage.");
      assert.ok(events.filter((event) => event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta").length >= 2, "streamed in deltas");
      const request = fake.requests[first]!;
      assert.equal(request.path, api === "responses" ? "/v1/responses" : "/v1/chat/completions");
      assert.equal(request.body.model, "triage-model");
      assert.equal(instructionsOf(api, request.body), "triage-instructions");
      assert.equal(request.headers.authorization, "Bearer sk-test", "the key from our config");
      assert.deepEqual((await list(state.thread.id)).map((item) => item.type), ["user_message", "assistant_message"]);
    });

    test("a tool call is a workflow task, and the next turn replays the call and its output", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "lookup_order", arguments: { id: "7" }, callId: "call_lookup" }] }, { text: "Order 7 shipped." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("Where is order 7?") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(lookups, ["7"]);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      assert.deepEqual(state.items[1].workflow.tasks, [{ type: "custom", title: "Running lookup_order", status_indicator: "complete" }]);
      assert.equal(state.items[2].content[0].text, "Order 7 shipped.");
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((exchange) => [exchange.callId, JSON.parse(exchange.output)]), [["call_lookup", { id: "7", status: "shipped" }]]);
      assert.deepEqual(await list(state.thread.id), state.items, "stored as streamed; the run's record stays hidden");

      fake.queue.push({ text: "Still shipped." });
      const next = fake.requests.length;
      await server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("And now?") });
      const body = fake.requests[next]!.body;
      assert.deepEqual(toolExchanges(api, body).map((exchange) => exchange.callId), ["call_lookup"], "the earlier tool work is replayed");
      assert.equal(lastUserText(body), "And now?");
      const texts = JSON.stringify(api === "responses" ? body.input : body.messages);
      assert.equal(texts.split("Order 7 shipped.").length - 1, 1, "the earlier answer is sent once");
    });

    test("the box's own tools are offered too and show their titles", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "box_time", arguments: {}, callId: "call_time" }] }, { text: "It is noon." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("What time is it?") });
      const state = foldEvents(events);
      assert.deepEqual(state.items[1].workflow.tasks, [{ type: "custom", title: "Reading the clock…", status_indicator: "complete" }]);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((exchange) => exchange.output), ["12:00"]);
    });

    test("the agent's MCP servers are offered to it, and a call is shown as a task", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "demo__add", arguments: { a: 2, b: 40 }, callId: "call_add" }] }, { text: "It is 42." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("add 2 and 40") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      const offered = (fake.requests[first]!.body.tools as any[]).map((offer) => offer.name ?? offer.function?.name);
      assert.ok(offered.includes("demo__add"), `offered ${offered.join(", ")}`);
      assert.deepEqual(state.items[1].workflow.tasks, [{ type: "custom", title: "Add (demo)", status_indicator: "complete" }]);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((exchange) => exchange.output), ["42"]);
    });

    test("a handoff is a workflow task; the next turn resumes with the agent handed to and replays the handoff", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "transfer_to_Weather", arguments: {}, callId: "call_handoff" }] }, { text: "Sunny all week." });
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("Weather in Rome?") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      assert.deepEqual(state.items[1].workflow.tasks, [{ type: "custom", title: "Handed off to Weather", status_indicator: "complete" }]);
      const handedTo = fake.requests[first + 1]!.body;
      assert.equal(instructionsOf(api, handedTo), "weather-instructions");
      assert.equal(handedTo.model, "weather-model");

      fake.queue.push({ text: "Still sunny." });
      const next = fake.requests.length;
      await server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("Tomorrow?") });
      const body = fake.requests[next]!.body;
      assert.equal(instructionsOf(api, body), "weather-instructions", "the conversation stays with the agent it was handed to");
      assert.deepEqual(toolExchanges(api, body).map((exchange) => exchange.callId), ["call_handoff"], "the handoff is replayed");
    });

    test("a tool shows a widget through the run context", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "show_card", arguments: { title: "Your order" } }] }, { text: "There it is." });
      const { events } = await server.stream("threads.create", { input: userInput("Show me") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      const card = state.items.find((item) => item.type === "widget");
      assert.equal(card?.widget.children[0].value, "Your order");
      assert.deepEqual((await list(state.thread.id)).map((item) => item.type).sort(), ["assistant_message", "user_message", "widget", "workflow"]);
    });

    test("a tool asks the user: the run's answer, then the question as the turn's last item", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "ask_size" }] }, { text: "I asked about the size." });
      const { events } = await server.stream("threads.create", { input: userInput("I want a shirt") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message", "structured_input"]);
      assert.equal(state.items[3].inputs[0].question, "Which size?");
      assert.deepEqual(await list(state.thread.id), state.items);
    });

    test("a guardrail tripwire is a message the user reads, and the model is not asked", async () => {
      const { fake, server } = harness;
      const first = fake.requests.length;
      const { events } = await server.stream("threads.create", { input: userInput("Tell me the launch codes") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.equal(state.items.at(-1).type, "assistant_message");
      assert.equal(state.items.at(-1).content[0].text, "I can't discuss launch codes.");
      assert.equal(fake.requests.length, first);
      assert.deepEqual((await list(state.thread.id)).map((item) => item.type), ["user_message", "assistant_message"]);
    });

    test("a guardrail beside the model withdraws what streamed before it tripped", async () => {
      const { fake, server } = harness;
      fake.queue.push({ text: "Here is some gossip about everyone you know." });
      const first = fake.requests.length;
      modelAnswered = async () => {
        while (fake.requests.length === first) await new Promise((resolve) => setTimeout(resolve, 5));
        await fake.ended(first);
      };
      const { events } = await server.stream("threads.create", { input: userInput("Any gossip?") });
      const state = foldEvents(events);
      assert.deepEqual(state.errors, []);
      assert.equal(fake.requests.length, first + 1, "the model was asked beside the guardrail");
      const streamed = events.find((event) => event.type === "thread.item.added" && event.item.type === "assistant_message");
      assert.ok(streamed && events.some((event) => event.type === "thread.item.removed" && event.item_id === streamed.item.id), "the streamed answer was withdrawn");
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "assistant_message"]);
      assert.equal(state.items[1].content[0].text, "No gossip here.");
      assert.deepEqual(await list(state.thread.id), state.items);
    });

    test("an upstream failure ends the stream with an error event, and the user's message is kept", async () => {
      const { fake, server } = harness;
      fake.queue.push({ status: 500 });
      const { events } = await server.stream("threads.create", { input: userInput("Are you there?") });
      const state = foldEvents(events);
      assert.equal(events.at(-1)?.type, "error");
      assert.equal(state.errors[0]?.allow_retry, true);
      assert.deepEqual((await list(state.thread.id)).map((item) => item.type), ["user_message"]);
    });

    test("stop aborts the run: the upstream request is cancelled and what was said is kept", async () => {
      const { fake, server } = harness;
      fake.queue.push({ chunks: ["The ", "first ", "words ", ...Array.from({ length: 200 }, () => "more ")], delayMs: 20 });
      const first = fake.requests.length;
      const seen = await server.streamUntil("threads.create", { input: userInput("Talk a lot") }, (event) => event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta");
      const threadId = foldEvents(seen).thread.id;
      const request = await fake.ended(first);
      assert.equal(request.aborted, true, "the upstream request was cancelled");
      await eventually(async () => (await list(threadId)).length === 2);
      const [, partial] = await list(threadId);
      assert.equal(partial.type, "assistant_message");
      assert.ok(partial.content[0].text.startsWith("The "), `the partial answer is kept: ${JSON.stringify(partial)}`);
      assert.equal(fake.requests.length, first + 1, "no request after the stop");
    });

    if (api === "responses") {
      test("reasoning summaries are thought tasks", async () => {
        const { fake, server } = harness;
        fake.queue.push({ reasoning: ["The user wants a greeting."], text: "Hello!" });
        const { events } = await server.stream("threads.create", { input: userInput("Greet me") });
        const state = foldEvents(events);
        assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
        assert.deepEqual(state.items[1].workflow.tasks, [{ type: "thought", content: "The user wants a greeting.", status_indicator: "complete" }]);
      });
    }

    test("nothing but the configured upstream was asked, and tracing is off", () => {
      assert.ok(harness.fake.requests.length > 0);
      assert.ok(fetches.length > 0, "the recorder sees the tests' own requests");
      assert.deepEqual(fetches.filter((url) => !serverOrigins.has(new URL(url).origin)), [], "no fetch but the tests' own requests");
      assert.ok(getGlobalTraceProvider().createTrace({ name: "probe" }) instanceof NoopTrace, "tracing is disabled");
    });
  });
}

describe("an Agents SDK agent without an upstream", () => {
  test("its turn ends with an error event saying so, and the user's message is kept", async () => {
    const server = await startTestServer({ config: { agents: [{ id: "assistant", name: "Triage", sdkAgent: agents().triage }] } });
    try {
      const { events } = await server.stream("threads.create", { input: userInput("hi") });
      const state = foldEvents(events);
      assert.equal(events.at(-1)?.type, "error");
      assert.match(state.errors[0]?.message ?? "", /needs a model upstream/);
      assert.deepEqual((await server.request("items.list", { thread_id: state.thread.id, order: "asc" })).body.data.map((item: any) => item.type), ["user_message"]);
    } finally {
      await server.close({ removeData: true });
    }
  });
});
