import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defineTool, z } from "../src/index.ts";
import type { UsageRow } from "../src/store/index.ts";
import { foldEvents, userInput } from "./support/client.ts";
import type { RecordedRequest, ReportedUsage } from "./support/fake-openai.ts";
import { APIS, eventually, startAgentServer, type AgentHarness } from "./support/agents.ts";

/** What a usage row must say about the given upstream requests: the sums of what they reported. */
function reportedBy(requests: RecordedRequest[]): Pick<UsageRow, "model_calls" | "reported_calls" | "input_tokens" | "output_tokens" | "reasoning_tokens" | "cached_tokens"> {
  const reported = requests.map((request) => request.usage).filter((usage): usage is ReportedUsage => usage !== undefined);
  const sum = (key: keyof ReportedUsage) => (reported.length ? reported.reduce((total, usage) => total + usage[key], 0) : null);
  return {
    model_calls: requests.length,
    reported_calls: reported.length,
    input_tokens: sum("input"),
    output_tokens: sum("output"),
    reasoning_tokens: sum("reasoning"),
    cached_tokens: sum("cached"),
  };
}

const counted = (row: UsageRow) => ({
  model_calls: row.model_calls,
  reported_calls: row.reported_calls,
  input_tokens: row.input_tokens,
  output_tokens: row.output_tokens,
  reasoning_tokens: row.reasoning_tokens,
  cached_tokens: row.cached_tokens,
});

for (const api of APIS) {
  describe(`usage recorded per turn over ${api}`, () => {
    let harness: AgentHarness;
    const tools = [
      defineTool({ name: "add", description: "Adds", parameters: z.object({ a: z.number(), b: z.number() }), handler: ({ a, b }) => a + b }),
    ];

    before(async () => {
      harness = await startAgentServer(api, [{ tools }, { id: "titled", generateTitles: true }]);
    });
    after(() => harness.close());

    /** The rows of one thread, oldest first. */
    async function rowsOf(threadId: string): Promise<UsageRow[]> {
      return (await harness.server.store.usage.list({ from: 0, to: Date.now() + 1 })).filter((row) => row.thread_id === threadId);
    }

    async function turn(text: string, agentId = "assistant"): Promise<{ threadId: string; requests: RecordedRequest[]; events: ReturnType<typeof foldEvents> }> {
      const before = harness.fake.requests.length;
      const created = await harness.server.stream("threads.create", { input: userInput(text) }, { agentId });
      const folded = foldEvents(created.events);
      return { threadId: folded.thread.id, requests: harness.fake.requests.slice(before), events: folded };
    }

    test("a plain turn's row holds what the upstream reported, who asked, with which agent and model", async () => {
      const { threadId, requests } = await turn("Hello");
      const [row] = await rowsOf(threadId);
      const user = await harness.server.store.users.findByEmail("alice@example.com");
      assert.ok(row);
      assert.ok(requests[0]!.usage, "the fake reported usage");
      assert.deepEqual(counted(row), reportedBy(requests));
      assert.equal(row.user_id, user!.id);
      assert.deepEqual([row.kind, row.agent_id, row.model, row.outcome, row.error, row.tool_calls, row.mcp_calls], ["turn", "assistant", "test-model", "done", null, 0, 0]);
      assert.ok(row.duration_ms >= 0 && row.started_at <= Date.now());
    });

    test("a turn with tool rounds sums every model call's usage and counts the tool calls", async () => {
      harness.fake.queue.push(
        { toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }, { name: "add", arguments: { a: 3, b: 4 } }] },
        { toolCalls: [{ name: "add", arguments: { a: 5, b: 6 } }] },
        { text: "Done adding." },
      );
      const { threadId, requests } = await turn("Add things");
      assert.equal(requests.length, 3);
      const [row] = await rowsOf(threadId);
      assert.deepEqual(counted(row!), reportedBy(requests));
      assert.equal(row!.tool_calls, 3);
      assert.equal(row!.outcome, "done");
    });

    test("a failed turn says so and why; an upstream that reports nothing leaves the tokens null", async () => {
      harness.fake.queue.push({ status: 500 });
      const failed = await turn("Fail please");
      const [failedRow] = await rowsOf(failed.threadId);
      assert.equal(failedRow!.outcome, "failed");
      assert.match(failedRow!.error!, /HTTP 500/);
      assert.deepEqual(counted(failedRow!), { model_calls: 1, reported_calls: 0, input_tokens: null, output_tokens: null, reasoning_tokens: null, cached_tokens: null });

      harness.fake.queue.push({ text: "No numbers from me.", usage: "none" });
      const silent = await turn("Quiet server");
      const [silentRow] = await rowsOf(silent.threadId);
      assert.equal(silentRow!.outcome, "done");
      assert.deepEqual(counted(silentRow!), { model_calls: 1, reported_calls: 0, input_tokens: null, output_tokens: null, reasoning_tokens: null, cached_tokens: null });
    });

    test("a turn the user stops is recorded as stopped", async () => {
      harness.fake.queue.push({ text: "one two three four five six", hangAfterChunks: 2 });
      const events = await harness.server.streamUntil("threads.create", { input: userInput("Stop me") }, (event) => event.type === "thread.item.updated");
      const threadId = foldEvents(events).thread.id;
      await eventually(async () => (await rowsOf(threadId)).length === 1);
      const [row] = await rowsOf(threadId);
      assert.equal(row!.outcome, "stopped");
      assert.equal(row!.model_calls, 1);
    });

    test("a title the model writes is its own row, marked as a title", async () => {
      harness.fake.queue.push({ text: "The answer." }, { text: "A Fine Title" });
      const { threadId, requests } = await turn("Name this thread", "titled");
      const rows = await rowsOf(threadId);
      assert.deepEqual(rows.map((row) => row.kind).sort(), ["title", "turn"]);
      const title = rows.find((row) => row.kind === "title")!;
      assert.deepEqual(counted(title), reportedBy(requests.slice(1)));
      assert.deepEqual(counted(rows.find((row) => row.kind === "turn")!), reportedBy(requests.slice(0, 1)));
    });

    if (api === "chat_completions") {
      test("Chat Completions are asked to report usage in the stream", async () => {
        const { requests } = await turn("Usage please");
        assert.deepEqual(requests[0]!.body.stream_options, { include_usage: true });
      });
    }
  });
}
