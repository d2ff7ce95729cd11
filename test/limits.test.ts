import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { z } from "zod";
import { streamMessage } from "../src/core/locale.ts";
import { FailureThrottle } from "../src/limits/throttle.ts";
import { defineTool } from "../src/tools/define.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { readSse } from "./support/sse.ts";

/** POSTs raw bytes to /chatkit with the given headers; answers status, headers and parsed JSON. */
async function postRaw(server: TestServer, body: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}`, ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** `[[[…]]]` nested `depth` levels. */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("request bodies", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { limits: { jsonBodyBytes: 64 * 1024 }, chatkit: { uploadMaxBytes: 256 * 1024 } } });
  });
  after(() => server.close({ removeData: true }));

  test("a JSON body over limits.jsonBodyBytes is 413 payload_too_large; one under it works", async () => {
    const big = JSON.stringify({ type: "threads.update", params: { thread_id: "thr_x", title: "t".repeat(70 * 1024) } });
    const refused = await postRaw(server, big);
    assert.equal(refused.status, 413);
    assert.equal(refused.body.error, "payload_too_large");
    assert.equal(refused.body.max_bytes, 64 * 1024);
    assert.equal((await postRaw(server, JSON.stringify({ type: "threads.list", params: {} }))).status, 200);
  });

  test("a gzip bomb stops at the decompressed limit: 413, while a small gzip body is read", async () => {
    // About 35 KB of gzip that would expand to 36 MB.
    const bomb = gzipSync(Buffer.from(`{"type":"threads.list","params":{"after":"${"a".repeat(36 * 1024 * 1024)}"}}`));
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes compressed`);
    const refused = await postRaw(server, bomb, { "content-encoding": "gzip" });
    assert.equal(refused.status, 413);
    assert.equal(refused.body.error, "payload_too_large");

    const small = await postRaw(server, gzipSync(JSON.stringify({ type: "threads.list", params: { limit: 5 } })), { "content-encoding": "gzip" });
    assert.equal(small.status, 200);
    assert.deepEqual(small.body.data, []);
    const brotli = await postRaw(server, brotliCompressSync(JSON.stringify({ type: "threads.list", params: {} })), { "content-encoding": "br" });
    assert.equal(brotli.status, 200);
  });

  test("an unknown or broken Content-Encoding is refused with a key, not a 500", async () => {
    const unknown = await postRaw(server, "{}", { "content-encoding": "zstd" });
    assert.equal(unknown.status, 415);
    assert.equal(unknown.body.error, "unsupported_content_encoding");
    const broken = await postRaw(server, Buffer.from("not gzip at all"), { "content-encoding": "gzip" });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error, "invalid_json");
  });

  test("only input.transcribe may be larger than the JSON limit (its audio), and only up to the upload limit", async () => {
    const audio = Buffer.alloc(100 * 1024, 7).toString("base64");
    const transcribe = await postRaw(server, JSON.stringify({ type: "input.transcribe", params: { audio_base64: audio, mime_type: "audio/webm" } }));
    assert.equal(transcribe.status, 422, "past the body limit: refused only because no upstream is configured");
    assert.equal(transcribe.body.error, "transcription_unavailable");

    const sameSize = await postRaw(server, JSON.stringify({ type: "threads.list", params: { after: audio } }));
    assert.equal(sameSize.status, 413);
    const typeLast = await postRaw(server, JSON.stringify({ params: { audio_base64: audio, mime_type: "audio/webm" }, type: "input.transcribe" }));
    assert.equal(typeLast.status, 413, "the type must come first for the larger limit");
    const tooMuchAudio = Buffer.alloc(300 * 1024, 7).toString("base64");
    const over = await postRaw(server, JSON.stringify({ type: "input.transcribe", params: { audio_base64: tooMuchAudio, mime_type: "audio/webm" } }));
    assert.equal(over.status, 413);
  });
});

describe("JSON shape, with the default limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("nesting deeper than limits.jsonMaxDepth is 400 json_too_deep and stores nothing", async () => {
    const before = (await server.request("threads.list", {})).body.data.length;
    for (const depth of [40, 400_000]) {
      const input = { content: [{ type: "input_tag", id: "t", text: "tag", data: { deep: "__DEEP__" } }], attachments: [], inference_options: {} };
      const body = JSON.stringify({ type: "threads.create", params: { input } }).replace('"__DEEP__"', nested(depth));
      const refused = await postRaw(server, body);
      assert.equal(refused.status, 400, `depth ${depth}`);
      assert.equal(refused.body.error, "json_too_deep");
      assert.equal(refused.body.max_depth, 32);
      assert.match(refused.body.field, /^params\.input\.content\[0\]\.data\.deep/);
    }
    assert.equal((await server.request("threads.list", {})).body.data.length, before, "no empty thread was left behind");
    const fine = await server.stream("threads.create", {
      input: { content: [{ type: "input_tag", id: "t", text: "tag", data: { deep: JSON.parse(nested(10)) } }], attachments: [], inference_options: {} },
    });
    assert.equal(fine.status, 200);
    assert.equal(fine.events.at(-1)!.type, "thread.item.done");
  });

  test("a string longer than limits.jsonMaxStringLength is 400 string_too_long", async () => {
    const long = await server.request("threads.create", {
      input: { content: [{ type: "input_tag", id: "t", text: "tag", data: { note: "x".repeat(200_001) } }], attachments: [], inference_options: {} },
    });
    assert.equal(long.status, 400);
    assert.equal(long.body.error, "string_too_long");
    assert.equal(long.body.field, "params.input.content[0].data.note");
  });
});

describe("concurrency limits", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      upstream: { text: "ok" },
      config: { limits: { streamsPerUser: 2, upstreamConcurrency: 3 } },
    });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  /** Starts a stream and resolves once its first delta arrived; `finish` reads it to the end. */
  async function openStream(token: string, text: string) {
    const response = await fetch(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: "threads.create", params: { input: userInput(text) } }),
    });
    // Iterated by hand: leaving a for-await loop would cancel the response.
    const events = readSse(response)[Symbol.asyncIterator]();
    for (let next = await events.next(); !next.done && next.value.type !== "thread.item.updated"; next = await events.next());
    return {
      finish: async () => {
        while (!(await events.next()).done);
      },
    };
  }

  test("a user's streams beyond limits.streamsPerUser get 429 too_many_streams with Retry-After; others are unaffected", async () => {
    // Long enough that the first stream is still open when the third asks, even on a loaded machine.
    fake.fallback = { chunks: ["slow ", "answer ", "taking ", "its ", "time ", "here"], delayMs: 400 };
    try {
      const alice = await server.token("alice@example.com");
      const open = [await openStream(alice, "one"), await openStream(alice, "two")];
      const threadsBefore = (await server.request("threads.list", {})).body.data.length;
      const refused = await server.request("threads.create", { input: userInput("three") }, { token: alice });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error, "too_many_streams");
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      assert.equal((await server.request("threads.list", {})).body.data.length, threadsBefore, "the refused turn stored nothing");
      assert.equal((await server.request("threads.list", {}, { token: alice })).status, 200, "JSON requests still work");

      const bob = await server.stream("threads.create", { input: userInput("bob's") }, { token: await server.token("bob@example.com") });
      assert.equal(bob.status, 200);
      assert.equal(bob.events.at(-1)!.type, "thread.item.done");

      await Promise.all(open.map((stream) => stream.finish()));
      const again = await server.stream("threads.create", { input: userInput("after") }, { token: alice });
      assert.equal(again.events.at(-1)!.item.content[0].text, "slow answer taking its time here");
    } finally {
      fake.fallback = { text: "ok" };
    }
  });

  test("model calls beyond limits.upstreamConcurrency for the box get 429 upstream_busy up front", async () => {
    fake.fallback = { chunks: ["slow ", "answer ", "taking ", "its ", "time ", "here"], delayMs: 400 };
    try {
      const open = [];
      for (const email of ["u1@example.com", "u2@example.com", "u3@example.com"]) open.push(await openStream(await server.token(email), "hi"));
      const refused = await server.request("threads.create", { input: userInput("four") }, { token: await server.token("u4@example.com") });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error, "upstream_busy");
      assert.equal(refused.headers.get("retry-after"), "1");
      await Promise.all(open.map((stream) => stream.finish()));
      const fine = await server.stream("threads.create", { input: userInput("now") }, { token: await server.token("u4@example.com") });
      assert.equal(fine.events.at(-1)!.item.content[0].text, "slow answer taking its time here");
    } finally {
      fake.fallback = { text: "ok" };
    }
  });
});

describe("the upstream slot is taken before the model request, once", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  /** Set by the tool below: the box's last upstream slot, taken while the turn runs its tool. */
  let releaseHeldSlot: (() => void) | undefined;
  before(async () => {
    fake = await startFakeOpenAI({ text: "ok" });
    // The tool takes the only slot, as another user's turn would between the up-front check and
    // the turn's next model request. The client would retry a refusal thrown inside it twice.
    const takeTheLastSlot = defineTool({
      name: "take_the_last_slot",
      description: "Takes the box's last upstream slot",
      parameters: z.object({}),
      handler: async () => {
        releaseHeldSlot = server.services.upstream.acquire();
        return "taken";
      },
    });
    server = await startTestServer({
      upstream: fake,
      config: {
        agents: [{ ...TEST_AGENT, tools: [takeTheLastSlot] }],
        openai: { maxRetries: 2 },
        limits: { upstreamConcurrency: 1 },
        server: { metrics: { enabled: true } },
      },
    });
  });
  after(async () => {
    releaseHeldSlot?.();
    await server.close({ removeData: true });
    await fake.close();
  });

  test("a model request that finds every slot taken ends the stream with upstream_busy, never sent upstream nor retried", async () => {
    fake.queue.push({ toolCalls: [{ name: "take_the_last_slot", arguments: {} }] }, { text: "not reached" });
    const upstreamBefore = fake.requests.length;
    const { status, events } = await server.stream("threads.create", { input: userInput("go") });
    assert.equal(status, 200);
    const last = events.at(-1)!;
    assert.equal(last.type, "error");
    assert.equal(last.message, streamMessage("upstream_busy"));
    assert.equal(last.allow_retry, true);
    assert.equal(fake.requests.length - upstreamBefore, 1, "only the first model request reached the upstream");
    assert.deepEqual(fake.queue.map((script) => script.text), ["not reached"]);
    const refusals = await server.services.metrics.limitRefusals.get();
    assert.deepEqual(refusals.values.map(({ labels, value }) => [labels.limit, value]), [["upstream_busy", 1]], "refused once");

    releaseHeldSlot!();
    releaseHeldSlot = undefined;
    assert.equal(server.services.upstream.inUse, 0, "the refused turn holds no slot");
    fake.queue.length = 0;
    const after = await server.stream("threads.create", { input: userInput("again") });
    assert.equal(after.events.at(-1)!.type, "thread.item.done");
  });
});

describe("failed credentials are throttled per client, valid ones never", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { limits: { failedAuthPerMinute: 3 }, server: { metrics: { enabled: true, token: "metrics-token-0123456789" } } } });
  });
  after(() => server.close({ removeData: true }));

  test("bad bearer tokens: 401 until the limit, then 429 too_many_failed_attempts with Retry-After; a valid token from that address still works", async () => {
    const good = await server.token();
    for (let i = 0; i < 3; i++) assert.equal((await server.request("threads.list", {}, { token: `guess-${i}` })).status, 401);
    const throttled = await server.request("threads.list", {}, { token: "guess-4" });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.body.error, "too_many_failed_attempts");
    const retryAfter = Number(throttled.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    for (let i = 0; i < 30; i++) assert.equal((await server.request("threads.list", {}, { token: `more-guess-${i}` })).status, 429);
    assert.equal((await server.request("threads.list", {}, { token: good })).status, 200, "thirty wrong tokens from this address do not lock out a valid one");
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, "requests without credentials are not throttled");
  });

  test("wrong /metrics tokens are not sign-in attempts", async () => {
    const other = await startTestServer({ config: { limits: { failedAuthPerMinute: 2 }, server: { metrics: { enabled: true, token: "metrics-token-0123456789" } } } });
    try {
      for (let i = 0; i < 5; i++) {
        assert.equal((await fetch(`${other.url}/metrics`, { headers: { authorization: `Bearer wrong-${i}` } })).status, 401);
      }
      assert.equal((await other.request("threads.list", {}, { token: "one-wrong-session-token" })).status, 401, "the first failed sign-in is a 401, not a 429");
    } finally {
      await other.close({ removeData: true });
    }
  });

  test("bad sign-in links count the same way; a valid link from that address still signs in", async () => {
    const other = await startTestServer({ config: { limits: { failedAuthPerMinute: 2 } } });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${other.url}/login/not-a-real-link-${i}`)).status, 400);
      const throttled = await fetch(`${other.url}/login/not-a-real-link-3`);
      assert.equal(throttled.status, 429);
      assert.equal(((await throttled.json()) as any).error, "too_many_failed_attempts");
      assert.equal((await other.request("threads.list", {}, { token: "guess" })).status, 429, "failed bearer tokens from that client too");
      assert.equal((await other.request("threads.list", {})).status, 200, "a valid token is never refused");
      const { user } = await other.store.users.findOrCreate("linked@example.com");
      const { token } = await other.store.loginLinks.create(user.id, { agentId: null, ttlMs: 60_000 });
      const signIn = await fetch(`${other.url}/login/${token}`, { headers: { "sec-fetch-site": "none" }, redirect: "manual" });
      assert.equal(signIn.status, 303);
      assert.match(signIn.headers.get("set-cookie") ?? "", /session_id=/);
    } finally {
      await other.close({ removeData: true });
    }
  });
});

describe("slow clients", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      upstream: { text: "ok" },
      config: { limits: { headersTimeoutMs: 400, requestTimeoutMs: 800 } },
    });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  /** Opens a raw connection, writes `send`, then waits for the server to answer or close; answers what it said. */
  function rawExchange(send: string, keepTrickling = false): Promise<{ text: string; ms: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const { port } = new URL(server.url);
      const socket = connect(Number(port), "127.0.0.1", () => socket.write(send));
      let text = "";
      const trickle = keepTrickling ? setInterval(() => socket.write("x"), 100) : undefined;
      socket.on("data", (chunk) => (text += chunk));
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearInterval(trickle);
        resolve({ text, ms: Date.now() - started });
      });
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server kept a slow client for 10 s: ${text}`));
      }, 10_000);
    });
  }

  test("headers that never finish are cut after limits.headersTimeoutMs", async () => {
    const { text, ms } = await rawExchange("POST /chatkit HTTP/1.1\r\nHost: x\r\n");
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.ok(ms < 5000, `${ms} ms`);
  });

  test("a body trickling in is cut after limits.requestTimeoutMs, without an error logged", async () => {
    const errorsBefore = server.logger.lines.length;
    const { text, ms } = await rawExchange("POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", true);
    assert.doesNotMatch(text, /^HTTP\/1\.1 200/);
    assert.ok(ms < 5000, `${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(server.logger.lines.slice(errorsBefore), []);
  });

  test("a stream that lasts longer than the request timeout is not cut", async () => {
    fake.queue.push({ chunks: ["one ", "two ", "three ", "four ", "five"], delayMs: 300 });
    const started = Date.now();
    const { events } = await server.stream("threads.create", { input: userInput("take your time") });
    assert.ok(Date.now() - started > 1200, "the stream outlived requestTimeoutMs");
    assert.equal(events.at(-1)!.item.content[0].text, "one two three four five");
  });
});

test("the failed-credential throttle forgets failures after its window and never tracks more than its client cap", () => {
  let now = 1_000_000;
  const throttle = new FailureThrottle(2, 60_000, 3, () => now);
  throttle.recordFailure("a");
  throttle.recordFailure("a");
  assert.equal(throttle.retryAfterSeconds("a"), 60);
  now += 30_000;
  assert.equal(throttle.retryAfterSeconds("a"), 30);
  now += 30_001;
  assert.equal(throttle.retryAfterSeconds("a"), 0, "a minute later the client may try again");
  for (const client of ["b", "c", "d", "e"]) {
    throttle.recordFailure(client);
    throttle.recordFailure(client);
  }
  assert.equal(throttle.retryAfterSeconds("b"), 0, "the oldest client was forgotten to keep memory bounded");
  assert.ok(throttle.retryAfterSeconds("e") > 0);
});

test("behind a trusted proxy the throttle counts the address the proxy added, which a client cannot rotate", async () => {
  const server = await startTestServer({ config: { server: { trustProxy: true }, limits: { failedAuthPerMinute: 2 } } });
  try {
    const guess = (spoofed: string, real: string) =>
      server.request("threads.list", {}, { token: "guess", headers: { "x-forwarded-for": `${spoofed}, ${real}` } });
    assert.equal((await guess("1.1.1.1", "203.0.113.5")).status, 401);
    assert.equal((await guess("2.2.2.2", "203.0.113.5")).status, 401);
    assert.equal((await guess("3.3.3.3", "203.0.113.5")).status, 429, "a new spoofed first entry does not help");
    assert.equal((await guess("3.3.3.3", "203.0.113.6")).status, 401, "another visitor is not locked out");
  } finally {
    await server.close({ removeData: true });
  }
});
