import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defineTool, z } from "../src/index.ts";
import { MAX_TOOL_OUTPUT_CHARS } from "../src/agents/tool-round.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { APIS, chatToolCallMessages, forcedToolOf, itemTrace, offeredTools, startAgentServer, toolExchanges, type AgentHarness } from "./support/agents.ts";

const orderParameters = z.object({ id: z.string(), verbose: z.boolean().default(false) });

for (const api of APIS) {
  describe(`server tools over ${api}`, () => {
    let harness: AgentHarness;
    const lookups: unknown[] = [];
    let rendezvous = 0;
    let stuckSignal: AbortSignal | undefined;

    const tools = [
      defineTool({
        name: "lookup_order",
        description: "Looks up an order by id",
        parameters: orderParameters,
        title: ({ id }) => `Looking up order ${id}…`,
        handler: async (args) => {
          lookups.push(args);
          return { id: args.id, status: "shipped" };
        },
      }),
      defineTool({ name: "add", description: "Adds two numbers", parameters: z.object({ a: z.number(), b: z.number() }), handler: ({ a, b }) => a + b }),
      defineTool({
        name: "explode",
        description: "Always fails",
        parameters: z.object({}),
        handler: () => {
          throw new Error("warehouse offline");
        },
      }),
      // Returns "together" only when another call of it runs at the same time.
      defineTool({
        name: "meet",
        description: "Waits for a second caller",
        parameters: z.object({ who: z.string() }),
        handler: async ({ who }) => {
          rendezvous++;
          const deadline = Date.now() + 3_000;
          while (rendezvous < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
          return `${who}: ${rendezvous >= 2 ? "together" : "alone"}`;
        },
      }),
      defineTool({
        name: "stuck",
        description: "Never finishes and ignores its signal",
        parameters: z.object({}),
        timeoutMs: 150,
        handler: (_args, ctx) => {
          stuckSignal = ctx.signal;
          return new Promise(() => {});
        },
      }),
      defineTool({ name: "dump", description: "Returns too much", parameters: z.object({}), handler: () => "x".repeat(MAX_TOOL_OUTPUT_CHARS + 500) }),
      defineTool({ name: "silent_lookup", description: "Looks up quietly", parameters: z.object({}), display: "hidden", handler: () => "found" }),
      defineTool({ name: "quick_search", description: "Searches", parameters: z.object({}), title: "Searching the catalogue…", display: "progress", handler: () => "3 results" }),
      defineTool({
        name: "publish",
        description: "Publishes and cites",
        parameters: z.object({}),
        handler: (_args, ctx) => {
          ctx.progress("Uploading the page…");
          ctx.effect("highlight", { row: 3 });
          ctx.notice("Published to the wiki", { level: "warning", title: "Heads up" });
          ctx.cite({ type: "url", title: "Wiki page", url: "https://wiki.example.com/page" });
          return "published";
        },
      }),
    ];

    before(async () => {
      harness = await startAgentServer(api, [
        { tools },
        { id: "capped", tools, maxToolRounds: 2 },
      ]);
    });
    after(() => harness.close());

    async function ask(text: string, agentId = "assistant") {
      const { status, events } = await harness.server.stream("threads.create", { input: userInput(text) }, { agentId });
      assert.equal(status, 200);
      return { events, state: foldEvents(events) };
    }

    test("the tool's zod schema is offered to the model as JSON schema, and the handler gets the parsed arguments", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "lookup_order", arguments: { id: "42" }, callId: "call_lookup" }] }, { text: "Order 42 has shipped." });
      lookups.length = 0;
      const { state } = await ask("Where is order 42?");

      assert.deepEqual(lookups, [{ id: "42", verbose: false }], "the default from the schema is applied");
      const offered = offeredTools(fake.requests[first]!.body)!;
      const { $schema: _ignored, ...expected } = z.toJSONSchema(orderParameters, { io: "input" });
      assert.deepEqual(offered.find((tool) => tool.name === "lookup_order"), { name: "lookup_order", description: "Looks up an order by id", parameters: expected });
      assert.deepEqual(offered.map((tool) => tool.name), tools.map((tool) => tool.name));
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body), [
        { callId: "call_lookup", name: "lookup_order", arguments: '{"id":"42"}', output: '{"id":"42","status":"shipped"}' },
      ]);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      assert.equal(state.items[2].content[0].text, "Order 42 has shipped.");
    });

    test("invalid arguments (wrong type, broken JSON) go back to the model as errors and the handler is not called", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      lookups.length = 0;
      fake.queue.push({ toolCalls: [{ name: "lookup_order", arguments: { id: 42 } }, { name: "add", arguments: '{"a": 1, "b":' }, { name: "no_such_tool" }] }, { text: "Let me try again." });
      const { state } = await ask("Where is order 42?");

      assert.deepEqual(lookups, []);
      const [wrongType, brokenJson, unknown] = toolExchanges(api, fake.requests[first + 1]!.body);
      assert.match(wrongType!.output, /^Error: invalid arguments: id: /);
      assert.equal(brokenJson!.output, "Error: invalid arguments: the arguments are not valid JSON");
      assert.equal(brokenJson!.arguments, '{"a": 1, "b":', "the model's own text is replayed as it wrote it");
      assert.equal(unknown!.output, 'Error: there is no tool named "no_such_tool"');
      assert.deepEqual(state.errors, []);
      assert.equal(state.items.at(-1).content[0].text, "Let me try again.");
    });

    test("several rounds: tool, model, tool, then the model answers in text", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }] }, { toolCalls: [{ name: "add", arguments: { a: 3, b: 4 } }] }, { text: "3, then 7." });
      const { state } = await ask("Add things");

      assert.equal(fake.requests.length, first + 3);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((e) => e.output), ["3"]);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 2]!.body).map((e) => [e.arguments, e.output]), [
        ['{"a":1,"b":2}', "3"],
        ['{"a":3,"b":4}', "7"],
      ]);
      // The next turn replays the same rounds from the stored history.
      fake.queue.push({ text: "Still 7." });
      await harness.server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("And now?") });
      for (const body of [fake.requests[first + 2]!.body, fake.requests[first + 3]!.body]) {
        assert.deepEqual(toolExchanges(api, body).map((e) => e.output), ["3", "7"]);
        if (api === "chat_completions") {
          const calls = chatToolCallMessages(body).map((message) => message.tool_calls.map((call: any) => call.function.arguments));
          assert.deepEqual(calls, [['{"a":1,"b":2}'], ['{"a":3,"b":4}']], "each round is its own assistant message: the second call was made after the first's result");
        }
      }
      const workflow = state.items.find((item) => item.type === "workflow");
      assert.deepEqual(workflow.workflow.tasks.map((task: any) => task.status_indicator), ["complete", "complete"], "one workflow shows both rounds");
      assert.equal(state.items.at(-1).content[0].text, "3, then 7.");
    });

    test("parallel calls in one round run concurrently and are replayed in the flavour's native shape", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      rendezvous = 0;
      fake.queue.push({ toolCalls: [{ name: "meet", arguments: { who: "ann" }, callId: "call_ann" }, { name: "meet", arguments: { who: "bob" }, callId: "call_bob" }] }, { text: "Both met." });
      const { state } = await ask("Meet up");

      const body = fake.requests[first + 1]!.body;
      assert.deepEqual(toolExchanges(api, body), [
        { callId: "call_ann", name: "meet", arguments: '{"who":"ann"}', output: "ann: together" },
        { callId: "call_bob", name: "meet", arguments: '{"who":"bob"}', output: "bob: together" },
      ]);
      if (api === "chat_completions") {
        const [assistant, ...rest] = chatToolCallMessages(body);
        assert.equal(rest.length, 0, "one assistant message carries both calls");
        assert.deepEqual(assistant.tool_calls.map((call: any) => call.id), ["call_ann", "call_bob"]);
        const at = body.messages.indexOf(assistant);
        assert.deepEqual(body.messages.slice(at + 1).map((m: any) => [m.role, m.tool_call_id]), [
          ["tool", "call_ann"],
          ["tool", "call_bob"],
        ]);
      } else {
        assert.deepEqual(body.input.slice(-4).map((item: any) => [item.type, item.call_id]), [
          ["function_call", "call_ann"],
          ["function_call_output", "call_ann"],
          ["function_call", "call_bob"],
          ["function_call_output", "call_bob"],
        ]);
      }
      const workflow = state.items.find((item) => item.type === "workflow");
      assert.equal(workflow.workflow.tasks.length, 2);
    });

    test("a throwing handler reports the failure to the model and the answer continues", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "explode" }] }, { text: "The warehouse is offline, sorry." });
      const { state } = await ask("Check stock");

      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((e) => e.output), ["Error: warehouse offline"]);
      assert.deepEqual(state.errors, []);
      const workflow = state.items.find((item) => item.type === "workflow");
      assert.deepEqual(workflow.workflow.tasks, [{ type: "custom", title: "Running explode", status_indicator: "complete", content: "Failed: warehouse offline" }]);
      assert.equal(state.items.at(-1).content[0].text, "The warehouse is offline, sorry.");
    });

    test("a handler past its timeoutMs is abandoned: its signal aborts and the model is told it timed out", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "stuck" }] }, { text: "The export timed out." });
      const { state } = await ask("Export");
      assert.equal(stuckSignal?.aborted, true);
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((e) => e.output), ["Error: it did not finish within 150 ms"]);
      assert.deepEqual(state.errors, []);
      assert.equal(state.items.at(-1).content[0].text, "The export timed out.");
    });

    test("an oversized tool output reaches the model cut, with a note saying so", async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "dump" }] }, { text: "That was a lot." });
      await ask("Dump it");
      const [output] = toolExchanges(api, fake.requests[first + 1]!.body).map((e) => e.output);
      assert.ok(output!.startsWith("x".repeat(MAX_TOOL_OUTPUT_CHARS)));
      assert.ok(output!.length < MAX_TOOL_OUTPUT_CHARS + 100);
      assert.match(output!, /output cut at/);
    });

    test("at the rounds cap the last request forbids tools; a model that still calls one ends with an error", async () => {
      const { fake, server } = harness;
      const call = { toolCalls: [{ name: "add", arguments: { a: 1, b: 1 } }] };
      let first = fake.requests.length;
      fake.queue.push(call, call, { text: "Two, finally." });
      const answered = await ask("Add forever", "capped");
      assert.equal(fake.requests.length, first + 3);
      assert.deepEqual(fake.requests.slice(first).map((request) => forcedToolOf(request.body)), ["auto", "auto", "none"], "the last round may only answer in text");
      assert.ok(offeredTools(fake.requests[first + 2]!.body)?.length, "still declared, so the history's calls stay valid");
      assert.deepEqual(answered.state.errors, []);
      assert.equal(answered.state.items.at(-1).content[0].text, "Two, finally.");

      first = fake.requests.length;
      fake.queue.push(call, call, call);
      const stubborn = await ask("Add forever", "capped");
      assert.equal(fake.requests.length, first + 3, "no request after the cap");
      assert.equal(stubborn.events.at(-1)!.type, "error");
      assert.match(stubborn.events.at(-1)!.message, /kept calling tools/);
      assert.equal(stubborn.events.at(-1)!.allow_retry, true);
      const threadId = stubborn.state.thread.id;
      const listed = await server.request("items.list", { thread_id: threadId, order: "asc" }, { agentId: "capped" });
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.data, stubborn.state.items, "what the client was shown is what a reload shows (the workflow ended)");
      assert.equal(listed.body.data.find((item: any) => item.type === "workflow").workflow.tasks.length, 2);
    });

    test("an upstream failure on the round after a tool ends with an error, the workflow stored as it was shown", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }] }, { status: 500 });
      const { events, state } = await ask("Add, then fail");
      assert.equal(events.at(-1)!.type, "error");
      assert.equal(events.at(-1)!.allow_retry, true);
      const listed = await server.request("items.list", { thread_id: state.thread.id, order: "asc" });
      assert.deepEqual(listed.body.data, state.items);
      assert.deepEqual(listed.body.data.map((item: any) => item.type), ["user_message", "workflow"]);
    });

    test("a tool at work shows as a workflow task, closed with a summary naming the tool call before the answer starts", async () => {
      const { fake } = harness;
      fake.queue.push({ toolCalls: [{ name: "lookup_order", arguments: { id: "7" } }] }, { text: "Shipped." });
      const { events, state } = await ask("Where is order 7?");

      assert.deepEqual(itemTrace(events), [
        "done:user_message",
        "progress_update",
        "added:workflow",
        "task.added:loading",
        "task.updated:complete",
        "done:workflow",
        "added:assistant_message",
        "done:assistant_message",
      ]);
      const added = events.find((event) => event.type === "thread.item.updated" && event.update.type === "workflow.task.added")!;
      assert.deepEqual(added.update.task, { type: "custom", title: "Looking up order 7…", status_indicator: "loading" });
      const done = events.find((event) => event.type === "thread.item.done" && event.item.type === "workflow")!;
      assert.deepEqual(done.item.workflow.summary, { title: "Tool call: Looking up order 7…" }, "labelled as a tool call, not a thinking time");
      assert.equal(done.item.workflow.expanded, false);
      assert.deepEqual(done.item.workflow.tasks, [{ type: "custom", title: "Looking up order 7…", status_indicator: "complete" }]);
      const stored = await harness.server.request("items.list", { thread_id: state.thread.id, order: "asc" });
      assert.deepEqual(stored.body.data.find((item: any) => item.type === "workflow"), done.item, "the workflow is stored as it ended");
    });

    test('a tool with display "progress" shows a progress line instead of a workflow', async () => {
      const { fake } = harness;
      fake.queue.push({ toolCalls: [{ name: "quick_search" }] }, { text: "Found 3." });
      const { state } = await ask("Search");
      assert.ok(state.progress.includes("Searching the catalogue…"));
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "assistant_message"]);
    });

    test('a tool with display "hidden" runs without a workflow or progress line', async () => {
      const { fake } = harness;
      const first = fake.requests.length;
      fake.queue.push({ toolCalls: [{ name: "silent_lookup" }] }, { text: "Found it." });
      const { events, state } = await ask("Look quietly");
      assert.deepEqual(toolExchanges(api, fake.requests[first + 1]!.body).map((e) => e.output), ["found"]);
      assert.deepEqual(itemTrace(events), ["done:user_message", "progress_update", "added:assistant_message", "done:assistant_message"]);
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "assistant_message"]);
    });

    test("reasoning summaries become a reasoning workflow of thought tasks before the answer", async () => {
      const { fake } = harness;
      const reasoning = ["First I consider the question.", "Then I check the facts."];
      fake.queue.push({ reasoning, text: "Here is the answer." });
      const { events, state } = await ask("Think hard");

      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      const workflow = state.items[1].workflow;
      assert.equal(workflow.type, "reasoning");
      assert.ok(workflow.tasks.every((task: any) => task.type === "thought" && task.status_indicator === "complete"));
      assert.equal(workflow.tasks.map((task: any) => task.content).join(""), reasoning.join(""));
      if (api === "responses") assert.equal(workflow.tasks.length, 2, "one thought per summary part");
      const trace = itemTrace(events);
      assert.ok(trace.indexOf("done:workflow") < trace.indexOf("added:assistant_message"));
    });

    test("reasoning in each round gets its own thought, in one workflow with the tool's task", async () => {
      const { fake } = harness;
      fake.queue.push({ reasoning: ["I should add."], toolCalls: [{ name: "add", arguments: { a: 2, b: 3 } }] }, { reasoning: ["Now I can answer."], text: "5." });
      const { state } = await ask("2+3, carefully");
      assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
      assert.deepEqual(
        state.items[1].workflow.tasks.map((task: any) => [task.type, task.content ?? task.title, task.status_indicator]),
        [
          ["thought", "I should add.", "complete"],
          ["custom", "Running add", "complete"],
          ["thought", "Now I can answer.", "complete"],
        ],
      );
    });

    test("progress, client effects and notices from a handler are streamed, and a cited source annotates the next answer", async () => {
      const { fake, server } = harness;
      fake.queue.push({ toolCalls: [{ name: "publish" }] }, { text: "Published, see the wiki." });
      const { events, state } = await ask("Publish it");
      assert.ok(state.progress.includes("Uploading the page…"));

      assert.deepEqual(state.signals.map(({ type, ...rest }) => ({ type, ...rest })), [
        { type: "client_effect", name: "highlight", data: { row: 3 } },
        { type: "notice", level: "warning", message: "Published to the wiki", title: "Heads up" },
      ]);
      const source = { type: "url", title: "Wiki page", url: "https://wiki.example.com/page" };
      const annotation = events.find((event) => event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.annotation_added");
      assert.ok(annotation, "an annotation_added event");
      assert.deepEqual(annotation.update.annotation, { type: "annotation", source });
      const answer = state.items.at(-1);
      assert.equal(annotation.item_id, answer.id);
      assert.deepEqual(answer.content[0].annotations, [{ type: "annotation", source }]);
      const stored = await server.request("items.list", { thread_id: state.thread.id, order: "asc" });
      assert.deepEqual(stored.body.data.at(-1).content[0].annotations, [{ type: "annotation", source }]);
    });
  });
}
