import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { eventShape, foldEvents, userInput } from "./support/client.ts";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { ownerOf } from "./support/fixtures.ts";

describe("a turn that fails or is stopped keeps the thread readable", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      upstream: { text: "ok" },
      // One user opens 20 streams at once below.
      config: { agents: [TEST_AGENT], limits: { streamsPerUser: 20 } },
    });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  async function threadItems(threadId: string) {
    return (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data as any[];
  }

  test("an upstream HTTP 500 ends with a retryable error event and the user message stored", async () => {
    fake.queue.push({ status: 500 });
    const { status, events } = await server.stream("threads.create", { input: userInput("will fail") });
    assert.equal(status, 200);
    assert.deepEqual(eventShape(events), ["thread.created", "thread.item.done", "stream_options", "progress_update", "error"]);
    assert.equal(events.at(-1)!.allow_retry, true);
    assert.match(events.at(-1)!.message, /try again/);
    const items = await threadItems(events[0]!.thread.id);
    assert.deepEqual(items.map((i) => i.type), ["user_message"]);
    assert.ok(server.logger.lines.some((line) => /HTTP 500/.test(line)), "the failure was logged");

    fake.queue.push({ text: "Recovered." });
    const retry = await server.stream("threads.retry_after_item", { thread_id: events[0]!.thread.id, item_id: items[0].id });
    assert.equal(retry.events.at(-1)!.item.content[0].text, "Recovered.");
  });

  test("a stream cut in the middle keeps what was said and ends with an error event", async () => {
    fake.queue.push({ chunks: ["Partial ", "answer ", "never finished"], cutAfterChunks: 2 });
    const { events } = await server.stream("threads.create", { input: userInput("cut me") });
    assert.deepEqual(eventShape(events).slice(-3), ["updated:text_delta", "thread.item.done", "error"]);
    const client = foldEvents(events);
    const stored = await threadItems(events[0]!.thread.id);
    assert.deepEqual(client.items, stored);
    assert.equal(stored[1].content[0].text, "Partial answer ");
  });

  test("an upstream that hangs times out into an error event", async () => {
    const impatient = await startTestServer({
      upstream: fake,
      config: { agents: [TEST_AGENT], openai: { timeoutMs: 400 } },
    });
    try {
      fake.queue.push({ chunks: ["Slow ", "start"], hangAfterChunks: 1 });
      const started = Date.now();
      const { events } = await impatient.stream("threads.create", { input: userInput("hang") });
      assert.ok(Date.now() - started < 5000);
      assert.equal(events.at(-1)!.type, "error");
      const stored = (await impatient.request("items.list", { thread_id: events[0]!.thread.id, order: "asc" })).body.data;
      assert.deepEqual(stored.map((i: any) => i.type), ["user_message", "assistant_message"]);
      assert.equal(stored[1].content[0].text, "Slow ");
    } finally {
      await impatient.close({ removeData: true });
    }
  });

  test("a client disconnect aborts the upstream, saves the partial answer and a hidden note", async () => {
    fake.queue.push({ chunks: ["One ", "two ", "three ", "four ", "five"], delayMs: 150 });
    const upstreamIndex = fake.requests.length;
    const seen = await server.streamUntil("threads.create", { input: userInput("count slowly") }, (event) => event.update?.delta === "two ");
    const threadId = seen[0]!.thread.id;
    const upstream = await fake.ended(upstreamIndex);
    assert.equal(upstream.aborted, true, "the upstream request was aborted");

    let stored: any[] = [];
    for (let i = 0; i < 50 && stored.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stored = await threadItems(threadId);
    }
    assert.deepEqual(stored.map((i) => i.type), ["user_message", "assistant_message"], "the hidden note is not listed");
    assert.match(stored[1].content[0].text, /^One two /);
    assert.doesNotMatch(stored[1].content[0].text, /five/);

    fake.queue.push({ text: "Continuing." });
    await server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("go on") });
    const history = fake.requests.at(-1)!.body.input.map((m: any) => (typeof m.content === "string" ? m.content : m.content[0].text));
    assert.deepEqual(history.slice(-2), ["The user stopped the previous answer before it finished.", "go on"]);

    const visible = await threadItems(threadId);
    const retried = await server.stream("threads.retry_after_item", { thread_id: threadId, item_id: visible[0].id });
    const removed = retried.events.filter((e) => e.type === "thread.item.removed").map((e) => e.item_id);
    assert.deepEqual(removed, visible.slice(1).map((i) => i.id), "only items the client has seen are announced as removed");
  });

  test("leaving after the answer is complete (while a title is made) is not a stop", async () => {
    const titled = await startTestServer({
      upstream: fake,
      config: { agents: [{ ...TEST_AGENT, generateTitles: true }] },
    });
    try {
      fake.queue.push({ text: "The full answer." }, { text: "Slow Title", firstChunkDelayMs: 600 });
      const seen = await titled.streamUntil(
        "threads.create",
        { input: userInput("answer then title") },
        (event) => event.type === "thread.item.done" && event.item.type === "assistant_message",
      );
      const threadId = seen[0]!.thread.id;
      let thread: any;
      for (let i = 0; i < 100; i++) {
        thread = (await titled.request("threads.get_by_id", { thread_id: threadId })).body;
        if (thread.title === "Slow Title") break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(thread.title, "Slow Title", "the title is still made and saved");
      const owner = await ownerOf(titled, "alice@example.com");
      const history = await titled.store.items.history(owner, threadId);
      assert.deepEqual(history.map((i) => i.type), ["user_message", "assistant_message"], "no 'the user stopped it' note");
    } finally {
      await titled.close({ removeData: true });
    }
  });

  /** Each failure ends the turn with a retryable error event, keeps the user message, and the server stays healthy. */
  async function assertFailedTurn(on: TestServer, text: string) {
    const { status, events } = await on.stream("threads.create", { input: userInput(text) });
    assert.equal(status, 200);
    assert.equal(events.at(-1)!.type, "error", eventShape(events).join(","));
    assert.equal(events.at(-1)!.allow_retry, true);
    const stored = (await on.request("items.list", { thread_id: events[0]!.thread.id, order: "asc" })).body.data;
    assert.equal(stored[0].type, "user_message");
    assert.equal((await fetch(`${on.url}/healthz`)).status, 200);
    const gate = on.services.upstream;
    for (let i = 0; i < 50 && gate.inUse > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(gate.inUse, 0, "the failed call gave its upstream slot back");
  }

  test("a refused connection, a 429 with Retry-After and malformed JSON each end with an error event", async () => {
    const closed = await startFakeOpenAI();
    const deadBaseURL = closed.baseURL;
    await closed.close();
    const refused = await startTestServer({ config: { agents: [TEST_AGENT], openai: { apiKey: "k", baseURL: deadBaseURL, maxRetries: 0 } } });
    try {
      await assertFailedTurn(refused, "nobody listens");
    } finally {
      await refused.close({ removeData: true });
    }

    fake.queue.push({ status: 429, retryAfterSeconds: 1 });
    await assertFailedTurn(server, "rate limited");
    fake.queue.push({ chunks: ["Half ", "an ", "answer"], malformedAfterChunks: 1 });
    await assertFailedTurn(server, "garbled");

    const chat = await startTestServer({
      upstream: fake,
      config: { agents: [{ ...TEST_AGENT, api: "chat_completions" }] },
    });
    try {
      fake.queue.push({ chunks: ["Half ", "an ", "answer"], malformedAfterChunks: 1 });
      await assertFailedTurn(chat, "garbled chat");
    } finally {
      await chat.close({ removeData: true });
    }
  });

  test("a 429 with Retry-After is waited out and retried when retries are allowed", async () => {
    const patient = await startTestServer({ upstream: fake, config: { agents: [TEST_AGENT], openai: { maxRetries: 1 } } });
    try {
      const first = fake.requests.length;
      fake.queue.push({ status: 429, retryAfterSeconds: 1 }, { text: "after the wait" });
      const { events } = await patient.stream("threads.create", { input: userInput("retry me") });
      assert.equal(events.at(-1)!.item.content[0].text, "after the wait");
      const gap = fake.requests[first + 1]!.receivedAt - fake.requests[first]!.receivedAt;
      assert.ok(gap >= 900, `retried after ${gap.toFixed(0)} ms`);
    } finally {
      await patient.close({ removeData: true });
    }
  });

  test("20 concurrent streams on one server all complete with their own text", async () => {
    fake.fallback = { echo: true, delayMs: 2 };
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => server.stream("threads.create", { input: userInput(`question number ${i}`) })),
      );
      for (const [i, { events }] of results.entries()) {
        assert.equal(events.at(-1)!.type, "thread.item.done", `stream ${i}`);
        assert.equal(events.at(-1)!.item.content[0].text, `Echo: question number ${i}`);
        const stored = await threadItems(events[0]!.thread.id);
        assert.equal(stored[1].content[0].text, `Echo: question number ${i}`);
      }
    } finally {
      fake.fallback = { text: "ok" };
    }
  });
});

describe("titles and heartbeats", () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({ text: "ok" });
  });
  after(() => fake.close());

  test("a long first message becomes a title cut at a word boundary", async () => {
    const server = await startTestServer();
    try {
      const text = "Please help me plan a long weekend trip to Rome with museums, food and a day at the sea";
      const { events } = await server.stream("threads.create", { input: userInput(text) });
      assert.equal(events[0]!.thread.title, "Please help me plan a long weekend trip to Rome with…");
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("an agent that asks for titles gets the model's title as thread.updated", async () => {
    const server = await startTestServer({
      upstream: fake,
      config: { agents: [{ ...TEST_AGENT, generateTitles: true }] },
    });
    try {
      fake.queue.push({ text: "Sure, Rome is lovely." }, { text: '"Weekend in Rome."' });
      const { events } = await server.stream("threads.create", { input: userInput("plan my trip to rome") });
      assert.equal(eventShape(events).at(-1), "thread.updated");
      assert.equal(events.at(-1)!.thread.title, "Weekend in Rome");
      const titleRequest = fake.requests.at(-1)!.body;
      assert.match(titleRequest.instructions, /short title/);
      assert.equal(lastUserText(titleRequest), "plan my trip to rome");
      const stored = await server.request("threads.get_by_id", { thread_id: events[0]!.thread.id });
      assert.equal(stored.body.title, "Weekend in Rome");

      const second = await server.stream("threads.add_user_message", { thread_id: events[0]!.thread.id, input: userInput("and food?") });
      assert.notEqual(eventShape(second.events).at(-1), "thread.updated", "only the first turn is titled");
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("heartbeat comments keep a silent stream open without confusing a data-line parser", async () => {
    const server = await startTestServer({
      upstream: fake,
      config: { agents: [TEST_AGENT], server: { sseHeartbeatSeconds: 0.1 } },
    });
    try {
      fake.queue.push({ text: "late answer", firstChunkDelayMs: 600 });
      const { events, raw } = await server.stream("threads.create", { input: userInput("wait for it") });
      assert.match(raw, /\n: keep-alive\n\n/);
      assert.equal(events.at(-1)!.item.content[0].text, "late answer");
      assert.ok(events.every((event) => typeof event.type === "string"));
    } finally {
      await server.close({ removeData: true });
    }
  });
});
