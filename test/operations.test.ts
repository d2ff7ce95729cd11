import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { ownerOf, seedThread } from "./support/fixtures.ts";
import { rawRequest } from "./support/raw-http.ts";
import { attachmentDirEntries, fetchBytes, uploadDirect } from "./support/uploads.ts";

const parsedLog = (server: TestServer) => server.logger.jsonLines.map((line) => JSON.parse(line) as { level: string; request_id?: string; msg: string });

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(check(), what);
}

describe("request ids and failures", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("every answer carries an X-Request-Id; a sane incoming one is kept, anything else replaced", async () => {
    const kept = await server.request("threads.list", {}, { headers: { "x-request-id": "edge-1234.abc" } });
    assert.equal(kept.headers.get("x-request-id"), "edge-1234.abc");
    for (const insane of ["has spaces in it", "x".repeat(200), "a\u00e9b", "<script>"]) {
      const replaced = await server.request("threads.list", {}, { headers: { "x-request-id": encodeURI(insane) === insane ? insane : "a%C3%A9b" } });
      assert.match(replaced.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/, insane);
    }
    const refused = await server.request("threads.get_by_id", { thread_id: "thr_nope" }, { headers: { "x-request-id": "trace-42" } });
    assert.equal(refused.status, 404);
    assert.equal(refused.body.request_id, "trace-42", "error bodies name the request id");
  });

  test("a failure while serialising the answer is a logged 500 with the error JSON, and the access log says 500", async () => {
    const { threadId, items } = await seedThread(server, { count: 1 });
    // A thread stored before depth limits existed: JSON too deep to serialise again. Pages splice
    // stored items unparsed, except ones whose image previews are re-signed: this one has one.
    const image = { type: "image", id: "atc_poisoned", name: "a.png", mime_type: "image/png", preview_url: "https://example.invalid/a.png" };
    const poisoned = { ...items[0], attachments: [image], inference_options: { deep: "__DEEP__" } };
    const data = JSON.stringify(poisoned).replace('"__DEEP__"', "[".repeat(200_000) + "]".repeat(200_000));
    await server.db.updateTable("thread_items").set({ data }).where("id", "=", items[0]!.id).execute();

    const answer = await server.request("items.list", { thread_id: threadId }, { headers: { "x-request-id": "poisoned-1" } });
    assert.equal(answer.status, 500);
    assert.equal(answer.body.error, "internal_error");
    assert.equal(answer.body.request_id, "poisoned-1");
    assert.doesNotMatch(JSON.stringify(answer.body), /RangeError|at |\.ts/);
    await waitFor(() => parsedLog(server).some((l) => l.request_id === "poisoned-1" && /items\.list 500/.test(l.msg)), "access log line with 500");
    const logged = parsedLog(server).filter((line) => line.request_id === "poisoned-1");
    assert.ok(logged.some((line) => line.level === "error" && /unhandled error/.test(line.msg)), JSON.stringify(logged));
  });

  test("unknown HTTP methods answer 405 JSON without an error in the log", async () => {
    const errorsBefore = server.logger.lines.length;
    for (const [method, url] of [["PROPFIND", "/chatkit"], ["TRACE", "/"], ["MKCOL", "/healthz"], ["PATCH", "/chatkit"]] as const) {
      const response = await rawRequest(`${server.url}${url}`, { method });
      assert.ok([404, 405].includes(response.status), `${method} ${url}: ${response.status}`);
      assert.equal(JSON.parse(response.body).error, response.status === 405 ? "method_not_allowed" : "not_found");
    }
    assert.deepEqual(server.logger.lines.slice(errorsBefore), []);
  });

  test("with server.logFormat json, every line of a request (access log included) carries its request id", async () => {
    await server.stream("threads.create", { input: userInput("hello") }, { headers: { "x-request-id": "stream-7" } });
    await waitFor(() => parsedLog(server).some((l) => l.request_id === "stream-7"), "the stream's access log line");
    const line = parsedLog(server).find((l) => l.request_id === "stream-7")!;
    assert.match(line.msg, /^POST \/chatkit threads\.create 200 /);
  });
});

describe("/metrics", () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({ text: "four token answer here" });
  });
  after(() => fake.close());

  test("is off by default", async () => {
    const server = await startTestServer();
    try {
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("with a token: request counts by type, streams, upstream latency, tokens, errors and limit refusals", async () => {
    const token = "metrics-token-0123456789";
    const server = await startTestServer({
      upstream: fake,
      config: { server: { metrics: { enabled: true, token } }, limits: { jsonMaxDepth: 8 } },
    });
    try {
      assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
      assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status, 401);
      await server.request("threads.list", {});
      await server.stream("threads.create", { input: userInput("count my tokens") });
      await server.request("threads.get_by_id", { thread_id: "thr_missing" });
      await server.request("threads.update", { thread_id: "t", title: "x", extra: JSON.parse("[".repeat(20) + "]".repeat(20)) });
      const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type")!, /^text\/plain/);
      const text = await response.text();
      assert.match(text, /chatkit_requests_total\{type="threads\.list",status="200"\} 1/);
      assert.match(text, /chatkit_requests_total\{type="threads\.create",status="200"\} 1/);
      assert.match(text, /chatkit_request_duration_seconds_count\{type="threads\.create"\} 1/);
      assert.match(text, /chatkit_open_streams 0/);
      assert.match(text, /chatkit_upstream_request_duration_seconds_count\{outcome="200"\} 1/);
      assert.match(text, /chatkit_tokens_total\{kind="input"\} 10/);
      assert.match(text, /chatkit_tokens_total\{kind="output"\} 4/);
      assert.match(text, /chatkit_errors_total\{key="thread_not_found"\} 1/);
      assert.match(text, /chatkit_limit_refusals_total\{limit="json_too_deep"\} 1/);
      assert.match(text, /chatkit_process_resident_memory_bytes \d+/);
      assert.doesNotMatch(text, /thr_missing/, "labels never hold ids or paths");
    } finally {
      await server.close({ removeData: true });
    }
  });
});

describe("attachments and crashes", () => {
  test("an attachment goes with one message: sending it again is 409, and deleting a thread keeps other threads' files", async () => {
    const server = await startTestServer();
    try {
      const file = await uploadDirect(server, { name: "a.txt", type: "text/plain", bytes: "only once" });
      const first = await server.stream("threads.create", { input: userInput("with file", { attachments: [file.body.id] }) });
      assert.equal(first.status, 200);
      const threadsBefore = (await server.request("threads.list", {})).body.data.length;
      const again = await server.request("threads.create", { input: userInput("same file", { attachments: [file.body.id] }) });
      assert.equal(again.status, 409);
      assert.equal(again.body.error, "attachment_already_sent");
      assert.equal(again.body.attachment_id, file.body.id);
      assert.equal((await server.request("threads.list", {})).body.data.length, threadsBefore, "nothing stored");

      const second = await server.stream("threads.create", { input: userInput("no file") });
      const secondId = second.events[0]!.thread.id;
      const resend = await server.request("threads.add_user_message", { thread_id: secondId, input: userInput("again", { attachments: [file.body.id] }) });
      assert.equal(resend.status, 409);
      assert.equal((await server.request("threads.delete", { thread_id: secondId })).status, 200);
      const download = await fetchBytes(`${server.url}/chatkit/attachments/${file.body.id}`, await server.token());
      assert.equal(download.bytes.toString(), "only once", "the first thread's file survived");
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("at start-up an upload interrupted by a crash is retryable again and its temporary file is gone", async () => {
    const first = await startTestServer();
    const created = await first.request("attachments.create", { name: "n.txt", size: 5, mime_type: "text/plain" });
    const owner = await ownerOf(first, "alice@example.com");
    assert.equal(await first.store.attachments.claimForUpload(owner, created.body.id), true, "an upload was receiving bytes…");
    const temp = path.join(first.dataDir, "attachments", `.upload-${created.body.id}-abc123`);
    writeFileSync(temp, "par");
    await first.close(); // …when the process died.

    const second = await startTestServer({ dataDir: first.dataDir });
    try {
      assert.equal(existsSync(temp), false);
      assert.deepEqual(attachmentDirEntries(second), []);
      const upload = await fetch(created.body.upload_descriptor.url.replace(first.url, second.url), {
        method: "PUT",
        headers: { authorization: `Bearer ${await second.token()}`, "content-type": "text/plain" },
        body: "whole",
      });
      assert.equal(upload.status, 200);
    } finally {
      await second.close({ removeData: true });
    }
  });
});
