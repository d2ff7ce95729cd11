import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { widget, type RespondTurn } from "../src/index.ts";
import { parseConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/load.ts";
import { startTestServer, type TestServer } from "./support/app.ts";
import { eventually } from "./support/agents.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { ownerOf } from "./support/fixtures.ts";

/** What the stop test's respond function is waiting on: it resolves once the client has gone. */
let stoppedSignal: AbortSignal | undefined;

async function respond(turn: RespondTurn): Promise<string | void> {
  const text = turn.input?.text ?? "";
  const last = turn.history.items.at(-1);
  if (last?.type === "client_tool_call") return `The page says ${JSON.stringify(last.output)}.`;
  if (last?.type === "structured_input") return `You picked ${last.inputs[0]?.answer?.values.join(", ")}.`;
  if (text === "widget") {
    turn.write("Here is your card.");
    await turn.widget(widget.Card({ children: [widget.Text({ id: "body", value: "A card from code" })] }), { copyText: "A card from code" });
    turn.write("And some text after it.");
    return;
  }
  if (text === "workflow") {
    const search = turn.task("Searching the catalogue…");
    turn.progress("Still searching…");
    search.done({ content: "3 results" });
    turn.thought("The second result fits best.");
    turn.cite({ type: "url", title: "Catalogue", url: "https://catalogue.example.com/2" });
    turn.write("The second result fits best.");
    turn.setTitle("Catalogue search");
    turn.notice("Prices may change", { level: "warning" });
    turn.effect("highlight", { row: 2 });
    turn.addHiddenContext({ picked: 2 });
    return;
  }
  if (text === "client") {
    turn.write("Asking your browser.");
    turn.callClientTool("get_location", { precise: true });
    return;
  }
  if (text === "question") {
    turn.askUser([{ type: "multiple_choice", id: "size", question: "Which size?", options: ["S", "M"] }]);
    return;
  }
  if (text === "slow") {
    turn.write("The first half was said. ");
    stoppedSignal = turn.signal;
    await new Promise((resolve) => turn.signal.addEventListener("abort", resolve, { once: true }));
    turn.write("This is never seen.");
    return;
  }
  if (text === "throw") {
    turn.write("Said before the failure.");
    throw new Error("the respond function broke");
  }
  return `You said "${text}"; I see ${turn.history.messages.length} messages and you are ${turn.user.email}.`;
}

/** The same agent as a generator: text deltas and protocol events as it yields them. */
async function* streamingRespond(turn: RespondTurn): AsyncGenerator<string> {
  for (const word of ["Streamed ", "word ", "by ", "word."]) yield word;
  turn.endMessage();
  yield `Second message for ${turn.thread.id}.`;
}

describe("respond agents", () => {
  let server: TestServer;
  const list = async (threadId: string, agentId = "assistant") => (await server.request("items.list", { thread_id: threadId, order: "asc" }, { agentId })).body.data as any[];

  before(async () => {
    server = await startTestServer({
      config: {
        agents: [
          // `assistant`: the agent requests name when they name none.
          { id: "assistant", name: "Code", respond },
          { id: "generator", name: "Generator", respond: streamingRespond },
        ],
      },
    });
  });
  after(() => server.close({ removeData: true }));

  test("streams its answer as an assistant message, with the thread's history and the user", async () => {
    const first = await server.stream("threads.create", { input: userInput("hello") }, { agentId: "assistant" });
    const state = foldEvents(first.events);
    assert.deepEqual(state.errors, []);
    assert.equal(state.items.at(-1).content[0].text, 'You said "hello"; I see 1 messages and you are alice@example.com.');
    const second = await server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("again") }, { agentId: "assistant" });
    assert.equal(foldEvents(second.events).items.at(-1).content[0].text, 'You said "again"; I see 3 messages and you are alice@example.com.');
    assert.deepEqual((await list(state.thread.id)).map((item) => item.type), ["user_message", "assistant_message", "user_message", "assistant_message"]);
  });

  test("a generator's text deltas and messages stream in order", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("go") }, { agentId: "generator" });
    const deltas = events.filter((event) => event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta");
    assert.equal(deltas.length, 5);
    const state = foldEvents(events);
    assert.deepEqual(
      state.items.filter((item) => item.type === "assistant_message").map((item) => item.content[0].text),
      ["Streamed word by word.", `Second message for ${state.thread.id}.`],
    );
    assert.deepEqual(await list(state.thread.id, "generator"), state.items, "stored as streamed");
  });

  test("a widget between two messages keeps its place, streamed and stored", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("widget") }, { agentId: "assistant" });
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    assert.deepEqual(state.items.map((item) => item.type), ["user_message", "assistant_message", "widget", "assistant_message"]);
    assert.equal(state.items[2].widget.children[0].value, "A card from code");
    assert.equal(state.items[2].copy_text, "A card from code");
    assert.deepEqual(await list(state.thread.id), state.items);
  });

  test("workflow tasks, thoughts, citations, a title, notices, effects and hidden context", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("workflow") }, { agentId: "assistant" });
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    const [, workflow, message] = state.items;
    assert.equal(workflow.type, "workflow");
    assert.deepEqual(workflow.workflow.tasks, [
      { type: "custom", title: "Searching the catalogue…", status_indicator: "complete", content: "3 results" },
      { type: "thought", content: "The second result fits best.", status_indicator: "complete" },
    ]);
    assert.equal(message.content[0].text, "The second result fits best.");
    assert.equal(message.content[0].annotations[0].source.url, "https://catalogue.example.com/2");
    assert.equal(state.thread.title, "Catalogue search");
    assert.deepEqual(state.progress, ["Still searching…"]);
    assert.deepEqual(state.signals.map((signal) => signal.type), ["notice", "client_effect"]);
    assert.equal(events.filter((event) => event.type === "thread.updated").length, 1, "one thread.updated for the title");
    const stored = await server.store.threads.get(await ownerOf(server, "alice@example.com"), state.thread.id);
    assert.equal(stored?.title, "Catalogue search");
    const history = await server.store.items.history(await ownerOf(server, "alice@example.com"), state.thread.id);
    assert.ok(history.some((item) => item.type === "hidden_context_item"), "hidden context is stored");
    assert.ok(!state.items.some((item) => item.type === "hidden_context_item"), "and never sent");
  });

  test("a client tool call ends the turn; its result starts the next one", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("client") }, { agentId: "assistant" });
    const state = foldEvents(events);
    const call = state.items.at(-1);
    assert.equal(call.type, "client_tool_call");
    assert.equal(call.status, "pending");
    assert.equal(call.name, "get_location");
    assert.deepEqual(call.arguments, { precise: true });
    const resumed = await server.stream("threads.add_client_tool_output", { thread_id: state.thread.id, result: { city: "Rome" } }, { agentId: "assistant" });
    assert.equal(foldEvents(resumed.events).items.at(-1).content[0].text, 'The page says {"city":"Rome"}.');
  });

  test("a structured-input question ends the turn; the answer starts the next one", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("question") }, { agentId: "assistant" });
    const state = foldEvents(events);
    const asked = state.items.at(-1);
    assert.equal(asked.type, "structured_input");
    assert.deepEqual(asked.inputs, [{ type: "multiple_choice", id: "size", question: "Which size?", options: [{ value: "S" }, { value: "M" }], multiple: false }]);
    const answered = await server.stream(
      "threads.add_structured_input",
      { thread_id: state.thread.id, item_id: asked.id, input: { answers: { size: { values: ["M"] } } } },
      { agentId: "assistant" },
    );
    assert.equal(foldEvents(answered.events).items.at(-1).content[0].text, "You picked M.");
  });

  test("stopped mid-way: what was said is kept, and the function's signal aborts", async () => {
    const seen = await server.streamUntil("threads.create", { input: userInput("slow") }, (event) => event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta");
    const threadId = foldEvents(seen).thread.id;
    await eventually(() => stoppedSignal?.aborted === true);
    await eventually(async () => (await list(threadId)).length === 2);
    const items = await list(threadId);
    assert.equal(items[1].type, "assistant_message");
    assert.equal(items[1].content[0].text, "The first half was said. ");
  });

  test("a throw ends the stream with an error event, and nothing said is lost", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("throw") }, { agentId: "assistant" });
    const state = foldEvents(events);
    assert.equal(events.at(-1)?.type, "error");
    assert.equal(state.errors.length, 1);
    const items = await list(state.thread.id);
    assert.deepEqual(items.map((item) => item.type), ["user_message", "assistant_message"]);
    assert.equal(items[1].content[0].text, "Said before the failure.");
    assert.ok(server.logger.lines.some((line) => line.includes("the respond function broke")), "the failure is logged");
  });
});

describe("respond agents in the config", () => {
  const problems = (input: unknown) => {
    try {
      parseConfig(input as never);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems;
    }
  };

  test("an agent needs a model, a respond function or an sdkAgent, and only one", () => {
    assert.deepEqual(problems({ agents: [{ id: "a", name: "A", respond }] }), []);
    assert.match(problems({ agents: [{ id: "a", name: "A" }] }).join("\n"), /agents\[0\]\.model: give the agent a model, a respond function or an sdkAgent/);
    assert.match(problems({ agents: [{ id: "a", name: "A", model: "m", respond }] }).join("\n"), /agents\[0\]\.respond: give only one of model, respond/);
    assert.match(problems({ agents: [{ id: "a", name: "A", respond: "not a function" }] }).join("\n"), /agents\[0\]\.respond: must be a function/);
    assert.match(problems({ agents: [{ id: "a", name: "A", sdkAgent: { name: "x" } }] }).join("\n"), /agents\[0\]\.sdkAgent: must be an Agent from @openai\/agents/);
  });
});
