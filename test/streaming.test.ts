import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { eventShape, foldEvents, userInput } from "./support/client.ts";
import type { FakeOpenAI } from "./support/fake-openai.ts";
import { ownerOf } from "./support/fixtures.ts";
import { parseSse } from "./support/sse.ts";

const TURN_SHAPE = [
  "stream_options",
  "progress_update",
  "thread.item.added",
  "updated:added",
  "updated:text_delta",
  "updated:done",
  "thread.item.done",
];

for (const api of ["responses", "chat_completions"] as const) {
  describe(`streaming conversations over ${api}`, () => {
    let fake: FakeOpenAI;
    let server: TestServer;
    before(async () => {
      server = await startTestServer({
        upstream: { text: "Hello from the fake model." },
        config: {
          agents: [{ ...TEST_AGENT, api, models: ["bigger-model"], temperature: 0.3, maxOutputTokens: 200 }],
        },
      });
      fake = server.fake;
    });
    after(() => server.close({ removeData: true }));

    test("threads.create emits the protocol's events in order and stores what it streamed", async () => {
      fake.queue.push({ chunks: ["Hel", "lo ", "there!"], delayMs: 5 });
      const { status, events, raw } = await server.stream("threads.create", { input: userInput("Hi, please greet me") });
      assert.equal(status, 200);
      assert.match(raw, /^data: \{"type":"thread\.created"/);
      assert.deepEqual(eventShape(events), ["thread.created", "thread.item.done", ...TURN_SHAPE]);

      const [created, userDone] = events;
      assert.equal(created!.thread.title, "Hi, please greet me");
      assert.deepEqual(created!.thread.items, { data: [], has_more: false });
      assert.deepEqual(created!.thread.status, { type: "active" });
      assert.equal(userDone!.item.type, "user_message");
      assert.deepEqual(userDone!.item.content, [{ type: "input_text", text: "Hi, please greet me" }]);
      assert.deepEqual(userDone!.item.attachments, []);
      assert.deepEqual(userDone!.item.inference_options, {});

      const deltas = events.filter((e) => e.update?.type === "assistant_message.content_part.text_delta").map((e) => e.update.delta);
      assert.deepEqual(deltas, ["Hel", "lo ", "there!"]);
      const done = events.at(-1)!;
      assert.deepEqual(done.item.content, [{ type: "output_text", text: "Hello there!", annotations: [] }]);

      const client = foldEvents(events);
      const stored = await server.request("threads.get_by_id", { thread_id: created!.thread.id });
      assert.deepEqual(client.items, stored.body.items.data, "the client's folded state equals the stored thread");
      assert.equal(client.allowCancel, true);

      const upstream = fake.requests.at(-1)!;
      assert.equal(upstream.path, api === "responses" ? "/v1/responses" : "/v1/chat/completions");
      assert.equal(upstream.body.model, "test-model");
      assert.equal(upstream.body.stream, true);
      assert.equal(upstream.body.temperature, 0.3);
      assert.equal(upstream.headers.authorization, "Bearer sk-test");
      if (api === "responses") {
        assert.equal(upstream.body.instructions, TEST_AGENT.instructions);
        assert.equal(upstream.body.max_output_tokens, 200);
      } else {
        assert.deepEqual(upstream.body.messages[0], { role: "system", content: TEST_AGENT.instructions });
        assert.equal(upstream.body.max_tokens, 200);
      }
    });

    test("threads.add_user_message sends the whole history, in order, and streams without thread.created", async () => {
      const first = await server.stream("threads.create", { input: userInput("My name is Ada.") });
      const threadId = first.events[0]!.thread.id;
      fake.queue.push({ text: "Your name is Ada." });
      const { events } = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("What is my name?") });
      assert.deepEqual(eventShape(events), ["thread.item.done", ...TURN_SHAPE]);

      const body = fake.requests.at(-1)!.body;
      const turns = (api === "responses" ? body.input : body.messages.slice(1)).map((m: any) => ({
        role: m.role,
        text: typeof m.content === "string" ? m.content : m.content.map((p: any) => p.text).join(""),
      }));
      assert.deepEqual(turns, [
        { role: "user", text: "My name is Ada." },
        { role: "assistant", text: "Hello from the fake model." },
        { role: "user", text: "What is my name?" },
      ]);
      const items = await server.request("items.list", { thread_id: threadId, order: "asc" });
      assert.deepEqual(items.body.data.map((i: any) => i.type), ["user_message", "assistant_message", "user_message", "assistant_message"]);
      assert.equal(items.body.data[3].content[0].text, "Your name is Ada.");
    });

    test("threads.retry_after_item removes newer items and answers that message again", async () => {
      const first = await server.stream("threads.create", { input: userInput("Tell me a joke") });
      const threadId = first.events[0]!.thread.id;
      const userId = first.events[1]!.item.id;
      await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("Another") });
      const before = await server.request("items.list", { thread_id: threadId, order: "asc" });
      const newer = before.body.data.slice(1).map((i: any) => i.id);

      fake.queue.push({ text: "A better joke." });
      const { events } = await server.stream("threads.retry_after_item", { thread_id: threadId, item_id: userId });
      assert.deepEqual(eventShape(events), [...newer.map(() => "thread.item.removed"), ...TURN_SHAPE]);
      assert.deepEqual(events.slice(0, newer.length).map((e) => e.item_id), newer);

      const client = foldEvents(events, { thread: undefined, items: before.body.data, errors: [], progress: [], signals: [] });
      const after = await server.request("items.list", { thread_id: threadId, order: "asc" });
      assert.deepEqual(client.items, after.body.data);
      assert.deepEqual(after.body.data.map((i: any) => i.type), ["user_message", "assistant_message"]);
      assert.equal(after.body.data[1].content[0].text, "A better joke.");
      const sent = fake.requests.at(-1)!.body;
      assert.equal((api === "responses" ? sent.input : sent.messages.slice(1)).length, 1, "only the retried message is history");

      const notUser = await server.request("threads.retry_after_item", { thread_id: threadId, item_id: after.body.data[1].id });
      assert.equal(notUser.status, 400);
      const missing = await server.request("threads.retry_after_item", { thread_id: threadId, item_id: "msg_nope" });
      assert.equal(missing.status, 404);
    });

    test("a model picked in the composer is used when the agent allows it, refused otherwise", async () => {
      const allowed = await server.stream("threads.create", { input: userInput("Hi", { inference_options: { model: "bigger-model" } }) });
      assert.equal(fake.requests.at(-1)!.body.model, "bigger-model");
      assert.deepEqual(allowed.events[1]!.item.inference_options, { model: "bigger-model" });

      const count = fake.requests.length;
      const threadsBefore = await server.request("threads.list", { limit: 100 });
      const refused = await server.stream("threads.create", { input: userInput("Hi", { inference_options: { model: "gpt-secret" } }) });
      assert.equal(refused.status, 200);
      assert.deepEqual(refused.events, [{ type: "error", code: "custom", message: "That model is not available for this agent.", allow_retry: false }]);
      assert.equal(fake.requests.length, count, "the upstream was not called");
      const threadsAfter = await server.request("threads.list", { limit: 100 });
      assert.equal(threadsAfter.body.data.length, threadsBefore.body.data.length, "no thread was created");
    });
  });
}

describe("streaming against the built-in local responder", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("with no upstream configured the local responder answers, names itself and echoes", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("ping from a newcomer") });
    assert.deepEqual(eventShape(events), ["thread.created", "thread.item.done", ...TURN_SHAPE]);
    const text = events.at(-1)!.item.content[0].text as string;
    assert.match(text, /built-in local responder/);
    assert.match(text, /OPENAI_API_KEY/);
    assert.match(text, /You said: "ping from a newcomer"/);
  });

  test("a message in an untitled thread gives it a title, announced as thread.updated", async () => {
    const first = await server.stream("threads.create", { input: userInput("first words") });
    const threadId = first.events[0]!.thread.id;
    await server.request("threads.update", { thread_id: threadId, title: "" });
    const { events } = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("a new name") });
    assert.deepEqual(eventShape(events).slice(0, 3), ["thread.item.done", "thread.updated", "stream_options"]);
    assert.equal(events[1]!.thread.title, "a new name");
    const titled = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("no rename now") });
    assert.ok(!titled.events.some((e) => e.type === "thread.updated"), "a titled thread keeps its title");
    assert.equal((await server.request("threads.get_by_id", { thread_id: threadId })).body.title, "a new name");
  });

  test("an unknown thread is a 404 before any byte is streamed", async () => {
    const response = await server.request("threads.add_user_message", { thread_id: "thr_missing", input: userInput("hi") });
    assert.equal(response.status, 404);
    assert.equal(response.body.error, "thread_not_found");
    assert.match(response.headers.get("content-type") ?? "", /json/);
  });

  test("threads.create without an agent is 422 agent_required", async () => {
    const response = await server.request("threads.create", { input: userInput("hi") }, { agentId: null });
    assert.equal(response.status, 422);
    assert.equal(response.body.error, "agent_required");
  });

  test("a locked thread refuses new messages with an error event", async () => {
    const first = await server.stream("threads.create", { input: userInput("hello") });
    const threadId = first.events[0]!.thread.id;
    const owner = await ownerOf(server, "alice@example.com");
    await server.store.threads.update(owner, threadId, { status: { type: "locked", reason: "maintenance" } });
    const { events } = await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("more") });
    assert.deepEqual(eventShape(events), ["error"]);
    assert.equal(events[0]!.message, "This thread does not accept new messages.");
    const items = await server.request("items.list", { thread_id: threadId });
    assert.equal(items.body.data.length, 2, "nothing was added");
  });
});

describe("a client that stops reading", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ upstream: { text: "Hello from the fake model." }, config: { agents: [TEST_AGENT] } });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  test("gets every frame, in order, once it reads again: the stream waits for the socket to drain", async () => {
    // 8 MB of answer: more than the socket buffers hold while the client does not read.
    const chunks = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(4, "0")}${"x".repeat(40_000)} `);
    fake.queue.push({ chunks });
    const { port } = new URL(server.url);
    const bearer = await server.token();
    const body = JSON.stringify({ type: "threads.create", params: { input: userInput("a long answer, please") } });
    const raw = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: `/chatkit?agent_id=${TEST_AGENT.id}`, headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` } }, (res) => {
        res.setEncoding("utf8");
        let text = "";
        res.once("data", (first: string) => {
          text += first;
          res.pause();
          setTimeout(() => {
            res.on("data", (chunk: string) => (text += chunk));
            res.resume();
          }, 1_000);
        });
        res.on("end", () => resolve(text));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
    const events = parseSse(raw);
    const streamed = events.filter((event) => event.update?.type === "assistant_message.content_part.text_delta").map((event) => event.update.delta);
    assert.deepEqual(streamed, chunks);
    assert.equal(events.at(-1)!.item.content[0].text, chunks.join(""));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});
