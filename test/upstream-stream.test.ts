import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { UpstreamError } from "../src/agents/runner.ts";
import { UpstreamEventDecoder } from "../src/agents/upstream-events.ts";
import { StreamedResponse, upstreamChunks, upstreamFetch } from "../src/agents/upstream-fetch.ts";
import { Metrics } from "../src/metrics/index.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("decoding an upstream's event stream", () => {
  test("answers each chunk's complete events, whatever the framing and however the bytes are split", () => {
    const decoder = new UpstreamEventDecoder();
    const stream = bytes('event: a\r\ndata: {"n":1}\r\n\r\n: a comment\n\ndata: {"text":\ndata: "caf\u00e9"}\n\ndata: {"n":3}\n\n');
    const seen: Array<readonly unknown[]> = [];
    // One byte at a time: every line, event and multi-byte character boundary is crossed.
    for (let i = 0; i < stream.length; i++) seen.push(decoder.feed(stream.subarray(i, i + 1)));
    assert.deepEqual(seen.flat(), [{ n: 1 }, { text: "caf\u00e9" }, { n: 3 }]);
    assert.equal(seen.filter((events) => events.length > 0).length, 3, "each event once, when its blank line arrives");
    assert.deepEqual(new UpstreamEventDecoder().feed(stream), [{ n: 1 }, { text: "caf\u00e9" }, { n: 3 }], "or all from one chunk");
  });

  test("[DONE] ends the stream; later events are ignored", () => {
    assert.deepEqual(new UpstreamEventDecoder().feed(bytes('data: {"n":1}\n\ndata: [DONE]\n\ndata: {"n":2}\n\n')), [{ n: 1 }]);
  });

  test("an error payload, an error event or data that is not JSON fails the stream with the upstream's words", () => {
    const failure = (text: string) => {
      const decoder = new UpstreamEventDecoder();
      try {
        decoder.feed(bytes(text));
      } catch (error) {
        assert.ok(error instanceof UpstreamError);
        return error.message;
      }
      assert.fail("no failure");
    };
    assert.match(failure('data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'), /overloaded/);
    assert.match(failure('event: error\ndata: {"message":"bad things"}\n\n'), /bad things/);
    assert.match(failure('data: {"n":1}\n\ndata: {"choices": [\n\n'), /not JSON/);
  });
});

describe("the upstream transport", () => {
  let fake: FakeOpenAI;
  const metrics = new Metrics();
  /** Upstream requests the transport counts as in flight. */
  const inFlight = async () => (await metrics.upstreamInFlight.get()).values[0]?.value ?? 0;
  let client: OpenAI;
  before(async () => {
    fake = await startFakeOpenAI({ echo: true });
    client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0, fetch: upstreamFetch(metrics) });
  });
  after(async () => {
    await fake.close();
  });
  const input = (text: string) => [{ role: "user" as const, content: [{ type: "input_text" as const, text }] }];

  test("keeps an event stream as it arrives, and the openai client's own reading still works on it", async () => {
    const response = await client.responses.create({ model: "m", input: input("raw bytes"), stream: true }).asResponse();
    assert.ok(response instanceof StreamedResponse);
    let text = "";
    for await (const chunk of upstreamChunks(response)) text += Buffer.from(chunk).toString("utf8");
    assert.match(text, /"delta":"raw "/);
    assert.equal(await inFlight(), 0, "no longer in flight once the body ended");

    let echoed = "";
    for await (const event of await client.responses.create({ model: "m", input: input("through the client"), stream: true })) {
      if (event.type === "response.output_text.delta") echoed += event.delta;
    }
    assert.equal(echoed, "Echo: through the client");
    assert.equal(await inFlight(), 0);
  });

  test("an error answer reaches the client whole, with its status and message", async () => {
    fake.queue.push({ status: 503 });
    await assert.rejects(client.responses.create({ model: "m", input: input("x"), stream: true }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 503);
      assert.match(error.message, /scripted failure 503/);
      return true;
    });
    assert.equal(await inFlight(), 0);
  });

  test("aborting mid-answer ends the upstream request and it is no longer in flight", async () => {
    fake.queue.push({ chunks: ["one ", "two ", "three"], delayMs: 100 });
    const upstreamIndex = fake.requests.length;
    const stop = new AbortController();
    const response = await client.responses.create({ model: "m", input: input("x"), stream: true }, { signal: stop.signal }).asResponse();
    assert.equal(await inFlight(), 1);
    const reading = (async () => {
      for await (const chunk of upstreamChunks(response)) if (Buffer.from(chunk).includes("one ")) stop.abort();
    })();
    await assert.rejects(reading);
    assert.equal((await fake.ended(upstreamIndex)).aborted, true);
    for (let i = 0; i < 50 && (await inFlight()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await inFlight(), 0);
  });
});
