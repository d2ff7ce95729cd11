import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { startTestServer, TEST_AGENT, TEST_COOKIE_KEYS, type TestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { postgresForTests } from "./support/postgres.ts";
import { attachmentDirEntries, uploadDirect } from "./support/uploads.ts";

const HUNDRED_TOKENS = { input: 60, output: 40, reasoning: 0, cached: 0 };

describe("token quotas", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    fake = await startFakeOpenAI({ text: "Counted answer.", usage: HUNDRED_TOKENS });
    server = await startTestServer({
      config: {
        agents: [TEST_AGENT, { ...TEST_AGENT, id: "capped" }],
        openai: { apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 },
        quotas: { tokensPerDay: 200, agents: { capped: { tokensPerDay: 100 } } },
        server: { metrics: { enabled: true } },
      },
    });
  });
  after(async () => {
    await server.close({ removeData: true });
    await fake.close();
  });

  const turn = (token: string, agentId = TEST_AGENT.id) => server.stream("threads.create", { input: userInput("Hi") }, { token, agentId });

  test("admits turns just under the day's quota, then refuses the next one in the chat, saying when it resets, storing nothing", async () => {
    const token = await server.token("carol@example.com");
    for (let i = 0; i < 2; i++) {
      const admitted = await turn(token);
      assert.equal(foldEvents(admitted.events).errors.length, 0, `turn ${i + 1} is under the quota`);
    }
    const threadsBefore = (await server.store.counts()).threads;
    const refused = await turn(token);
    assert.equal(refused.status, 200);
    assert.equal(refused.events.length, 1);
    const [event] = refused.events;
    assert.equal(event!.type, "error");
    const tomorrow = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1)).toISOString().slice(0, 16).replace("T", " ");
    assert.equal(event!.message, `You have used your 200 tokens for this day. Your quota resets at ${tomorrow} UTC.`);
    assert.equal((await server.store.counts()).threads, threadsBefore, "nothing stored");
    assert.ok(server.logger.infoLines.some((line) => /quota tokensPerDay refused: user carol@example.com used 200 of 200 tokens this day/.test(line)));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /chatkit_quota_refusals_total\{quota="tokensPerDay"\} 1/);
  });

  test("the day's quota resets at the next UTC day: yesterday's tokens do not count", async () => {
    const token = await server.token("dave@example.com");
    const user = (await server.store.users.findByEmail("dave@example.com"))!;
    const yesterday = Date.now() - 24 * 3600 * 1000;
    await server.store.usage.record({
      user_id: user.id, agent_id: TEST_AGENT.id, model: "test-model", thread_id: null, kind: "turn", started_at: yesterday, duration_ms: 1,
      model_calls: 1, reported_calls: 1, input_tokens: 5000, output_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, tool_calls: 0, mcp_calls: 0, outcome: "done", error: null,
    });
    assert.equal(foldEvents((await turn(token)).events).errors.length, 0);
  });

  test("an agent's own quota counts only that agent's tokens", async () => {
    const token = await server.token("erin@example.com");
    assert.equal(foldEvents((await turn(token, "capped")).events).errors.length, 0);
    const refused = await turn(token, "capped");
    assert.equal(refused.events[0]!.type, "error");
    assert.match(refused.events[0]!.message, /100 tokens for this day/);
    // The other agent still answers: 100 of the 200 box-wide tokens are left.
    assert.equal(foldEvents((await turn(token)).events).errors.length, 0);
  });

  test("an admin's override for one user replaces the default for that user only", async () => {
    const token = await server.token("frank@example.com");
    const frank = (await server.store.users.findByEmail("frank@example.com"))!;
    await server.store.quotas.setOverrides(frank.id, { tokens_per_day: 50, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null });
    assert.equal(foldEvents((await turn(token)).events).errors.length, 0, "0 used is under 50");
    assert.equal((await turn(token)).events[0]!.type, "error");
    await server.store.quotas.setOverrides(frank.id, { tokens_per_day: 1000, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null });
    assert.equal(foldEvents((await turn(token)).events).errors.length, 0, "raised for frank");
  });
});

/** A raw upload that may be cut off by the server: its status, or "closed" when the connection closed before an answer. */
function rawUpload(url: string, token: string, body: Buffer, contentType: string): Promise<number | "closed"> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": contentType, "content-length": String(body.length) }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve("closed"));
    req.end(body);
  });
}

function multipart(name: string, type: string, bytes: Buffer): { body: Buffer; contentType: string } {
  const boundary = "----quota-test-boundary";
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe("storage quotas", () => {
  const MiB = 1024 * 1024;

  test("50 parallel 25 MiB uploads by one user stop at the quota, with nothing partial left on disk", async () => {
    const server = await startTestServer({ config: { quotas: { storedBytesPerUser: 3 * 25 * MiB + MiB, uploadsInFlightPerUser: 50 } } });
    try {
      const token = await server.token();
      const file = multipart("big.bin", "application/octet-stream", Buffer.alloc(25 * MiB - 1024, 7));
      const results = await Promise.all(Array.from({ length: 50 }, () => rawUpload(`${server.url}/chatkit/upload`, token, file.body, file.contentType)));
      const admitted = results.filter((status) => status === 200).length;
      assert.equal(admitted, 3, `three fit: ${JSON.stringify(results)}`);
      assert.ok(results.every((status) => status === 200 || status === 413 || status === "closed"), JSON.stringify(results));
      const owner = await server.store.users.findByEmail("alice@example.com");
      assert.equal(await server.store.quotas.storedBytes(owner!.id), 3 * (25 * MiB - 1024));
      assert.equal(attachmentDirEntries(server).length, 3, "only the admitted files, no partial or temporary file");
      assert.deepEqual(await server.store.quotas.reservations(), []);
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("a declared size is admitted just under the quota and refused past it, with its own key; deleting makes room again", async () => {
    const server = await startTestServer({ config: { quotas: { storedBytesPerUser: 1000 } } });
    try {
      const token = await server.token();
      const first = await server.request("attachments.create", { name: "a.txt", size: 600, mime_type: "text/plain" }, { token });
      const put = (id: string, bytes: string) => fetch(`${server.url}/chatkit/upload/${id}`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" }, body: bytes });
      assert.equal((await put(first.body.id, "x".repeat(600))).status, 200);
      const justFits = await server.request("attachments.create", { name: "b.txt", size: 400, mime_type: "text/plain" }, { token });
      assert.equal(justFits.status, 200);
      assert.equal((await put(justFits.body.id, "y".repeat(400))).status, 200);
      const past = await server.request("attachments.create", { name: "c.txt", size: 1, mime_type: "text/plain" }, { token });
      assert.equal(past.status, 413);
      assert.equal(past.body.error, "storage_quota_exceeded");
      assert.equal(past.body.max_bytes, 1000);
      const direct = await uploadDirect(server, { name: "d.txt", type: "text/plain", bytes: "z" }, token);
      assert.equal(direct.status, 413);
      assert.equal(direct.body.error, "storage_quota_exceeded");
      assert.equal((await server.request("attachments.delete", { attachment_id: first.body.id }, { token })).status, 200);
      assert.equal((await uploadDirect(server, { name: "d.txt", type: "text/plain", bytes: "z" }, token)).status, 200);
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("uploads in flight past the limit get 429 too_many_uploads with Retry-After; a finished one frees its place", async () => {
    const server = await startTestServer({ config: { quotas: { uploadsInFlightPerUser: 1 } } });
    try {
      const token = await server.token();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const slow = fetch(`${server.url}/chatkit/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" },
        body: new ReadableStream({
          async start(controller) {
            controller.enqueue(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\nContent-Type: text/plain\r\n\r\nslow'));
            await released;
            controller.enqueue(Buffer.from("\r\n--b--\r\n"));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      const owner = (await server.store.users.findByEmail("alice@example.com"))!;
      while ((await server.store.quotas.reservations()).filter((row) => row.user_id === owner.id).length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const refused = await fetch(`${server.url}/chatkit/upload`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: (() => { const form = new FormData(); form.append("file", new Blob(["x"], { type: "text/plain" }), "x.txt"); return form; })() });
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { error: string }).error, "too_many_uploads");
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      release();
      assert.equal((await slow).status, 200);
      assert.equal((await uploadDirect(server, { name: "x.txt", type: "text/plain", bytes: "x" }, token)).status, 200);
    } finally {
      await server.close({ removeData: true });
    }
  });
});

const postgres = await postgresForTests();
after(() => postgres.cluster?.stop());

if (!postgres.cluster) {
  test.skip(`quotas across two servers on PostgreSQL: ${postgres.skip}`);
} else {
  const cluster = postgres.cluster;
  describe("quotas across two servers on one PostgreSQL", () => {
    let fake: FakeOpenAI;
    let a: TestServer;
    let b: TestServer;
    before(async () => {
      fake = await startFakeOpenAI({ text: "Counted answer.", usage: HUNDRED_TOKENS });
      const url = await cluster.createDatabase();
      const config = {
        database: { url },
        cookieKeys: TEST_COOKIE_KEYS,
        openai: { apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 },
        quotas: { tokensPerDay: 100, storedBytesPerUser: 10_000, uploadsInFlightPerUser: 20 },
      };
      a = await startTestServer({ config });
      b = await startTestServer({ config });
    });
    after(async () => {
      await a?.close({ removeData: true });
      await b?.close({ removeData: true });
      await fake.close();
    });

    test("tokens used on A count on B", async () => {
      const token = await a.token("gina@example.com");
      assert.equal(foldEvents((await a.stream("threads.create", { input: userInput("On A") }, { token })).events).errors.length, 0);
      const onB = await b.stream("threads.create", { input: userInput("On B") }, { token });
      assert.equal(onB.events[0]!.type, "error");
      assert.match(onB.events[0]!.message, /100 tokens for this day/);
    });

    test("parallel uploads split between A and B stop at the stored-bytes quota together", async () => {
      const token = await a.token("hank@example.com");
      const file = multipart("f.bin", "application/octet-stream", Buffer.alloc(3000, 1));
      // Each reserves its whole body (a bound on its file's size): three bodies fit in 10 000 bytes.
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => rawUpload(`${(i % 2 ? a : b).url}/chatkit/upload`, token, file.body, file.contentType)));
      assert.equal(results.filter((status) => status === 200).length, 3, JSON.stringify(results));
      const hank = (await a.store.users.findByEmail("hank@example.com"))!;
      assert.equal(await b.store.quotas.storedBytes(hank.id), 3 * 3000);
    });
  });
}
