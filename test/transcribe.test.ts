import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";

interface ReceivedTranscription {
  authorization: string | undefined;
  model: string;
  fileName: string;
  fileType: string;
  audio: Buffer;
}

/** A fake OpenAI-compatible upstream on loopback: `POST /v1/audio/transcriptions` as multipart. */
async function startFakeUpstream(answer: { status: number; body: unknown }): Promise<{ baseURL: string; received: ReceivedTranscription[]; close(): Promise<void> }> {
  const received: ReceivedTranscription[] = [];
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server: Server = createServer(async (req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/audio/transcriptions") {
      res.writeHead(404).end();
      return;
    }
    const form = await new Response(await readBody(req), { headers: { "content-type": req.headers["content-type"] ?? "" } }).formData();
    const file = form.get("file") as File;
    received.push({
      authorization: req.headers.authorization,
      model: String(form.get("model")),
      fileName: file.name,
      fileType: file.type,
      audio: Buffer.from(await file.arrayBuffer()),
    });
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const AUDIO = Buffer.from("OggS fake opus frames \u0000\u0001\u0002", "latin1");

describe("input.transcribe", () => {
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let server: TestServer;
  before(async () => {
    upstream = await startFakeUpstream({ status: 200, body: { text: "hello from the microphone", usage: { type: "tokens", input_tokens: 42, output_tokens: 7, total_tokens: 49 } } });
    server = await startTestServer({
      config: { openai: { apiKey: "sk-fake", baseURL: upstream.baseURL, transcriptionModel: "whisper-test" } },
    });
  });
  after(async () => {
    await server.close({ removeData: true });
    await upstream.close();
  });

  test("sends the decoded audio and the configured model upstream and answers its text", async () => {
    const { status, body } = await server.request("input.transcribe", {
      audio_base64: AUDIO.toString("base64"),
      mime_type: "audio/webm;codecs=opus",
    });
    assert.equal(status, 200);
    assert.deepEqual(body, { text: "hello from the microphone" });
    const call = upstream.received.at(-1)!;
    assert.deepEqual(call.audio, AUDIO);
    assert.equal(call.model, "whisper-test");
    assert.equal(call.fileName, "audio.webm");
    assert.equal(call.fileType, "audio/webm");
    assert.equal(call.authorization, "Bearer sk-fake");
  });

  test("is recorded as a transcription with the tokens the upstream reported", async () => {
    const user = await server.store.users.findByEmail("alice@example.com");
    const before = Date.now();
    await server.request("input.transcribe", { audio_base64: AUDIO.toString("base64"), mime_type: "audio/ogg" });
    const rows = (await server.store.usage.list({ from: before, to: Date.now() + 1 })).filter((row) => row.kind === "transcription");
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.deepEqual(
      [row.user_id, row.agent_id, row.model, row.thread_id, row.outcome, row.model_calls, row.reported_calls, row.input_tokens, row.output_tokens],
      [user!.id, TEST_AGENT.id, "whisper-test", null, "done", 1, 1, 42, 7],
    );
  });

  test("refuses what is not audio, and base64 that is not base64", async () => {
    const calls = upstream.received.length;
    const notAudio = await server.request("input.transcribe", { audio_base64: AUDIO.toString("base64"), mime_type: "text/html" });
    assert.equal(notAudio.status, 415);
    assert.equal(notAudio.body.error, "unsupported_file_type");
    const garbage = await server.request("input.transcribe", { audio_base64: "not base64!", mime_type: "audio/ogg" });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.field, "params.audio_base64");
    assert.equal(upstream.received.length, calls, "nothing reached the upstream");
  });

  test("an upstream failure is 502 transcription_failed, logged", async () => {
    const failing = await startFakeUpstream({ status: 400, body: { error: { message: "bad audio" } } });
    const box = await startTestServer({ config: { openai: { apiKey: "sk-fake", baseURL: failing.baseURL } } });
    try {
      const { status, body } = await box.request("input.transcribe", { audio_base64: AUDIO.toString("base64"), mime_type: "audio/ogg" });
      assert.equal(status, 502);
      assert.equal(body.error, "transcription_failed");
      assert.equal(failing.received.length, 1);
      assert.equal(failing.received[0]!.model, "gpt-4o-mini-transcribe", "the default model");
      assert.ok(box.logger.lines.some((line) => line.startsWith("transcription upstream failed")));
      const [row] = await box.store.usage.list({ from: 0, to: Date.now() + 1 });
      assert.deepEqual([row?.kind, row?.outcome, row?.error, row?.input_tokens], ["transcription", "failed", "transcription_failed", null]);
    } finally {
      await box.close({ removeData: true });
      await failing.close();
    }
  });

  test("without an API key it is a clear transcription_unavailable error, not a crash", async () => {
    const box = await startTestServer({ config: { agents: [TEST_AGENT] } });
    try {
      const { status, body } = await box.request("input.transcribe", { audio_base64: AUDIO.toString("base64"), mime_type: "audio/webm" });
      assert.equal(status, 422);
      assert.equal(body.error, "transcription_unavailable");
      assert.match(body.message, /API key/);
    } finally {
      await box.close({ removeData: true });
    }
  });
});

describe("a JSON request whose client goes away", () => {
  test("aborts its upstream call instead of waiting out the timeout", async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    let arrived!: () => void;
    const requested = new Promise<void>((resolve) => (arrived = resolve));
    const hanging: Server = createServer((req) => {
      arrived();
      req.socket.on("close", () => upstreamClosed());
    });
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const server = await startTestServer({
      config: { openai: { apiKey: "sk-fake", baseURL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v1` } },
    });
    try {
      const controller = new AbortController();
      const pending = fetch(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}` },
        body: JSON.stringify({ type: "input.transcribe", params: { audio_base64: AUDIO.toString("base64"), mime_type: "audio/ogg" } }),
        signal: controller.signal,
      });
      await requested;
      controller.abort();
      await assert.rejects(pending);
      const outcome = await Promise.race([closed.then(() => "aborted"), new Promise((resolve) => setTimeout(() => resolve("still waiting"), 3000))]);
      assert.equal(outcome, "aborted");
    } finally {
      await server.close({ removeData: true });
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
