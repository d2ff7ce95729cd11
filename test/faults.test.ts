import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import SQLite from "better-sqlite3";
import { DATABASE_FILE } from "../src/store/index.ts";
import { mintToken, startTestServer, tempDataDir, TEST_AGENT, type TestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { startServerProcess, type ServerProcess } from "./support/process.ts";
import { readSse, type ParsedEvent } from "./support/sse.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function post(url: string, token: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/chatkit?agent_id=assistant`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: signal ?? null,
  });
}

async function json(url: string, token: string, type: string, params: unknown): Promise<{ status: number; body: any }> {
  const response = await post(url, token, { type, params });
  return { status: response.status, body: await response.json() };
}

function integrityCheck(dataDir: string): string {
  const db = new SQLite(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe("SIGKILL mid-stream and mid-upload, restarting on the same data dir", () => {
  const CYCLES = 5;
  let fake: FakeOpenAI;
  let dataDir: string;
  let token: string;
  before(async () => {
    fake = await startFakeOpenAI({ chunks: Array.from({ length: 40 }, (_, i) => `w${i} `), delayMs: 50 });
    dataDir = tempDataDir();
    token = await mintToken(dataDir, "crash@example.com");
  });
  after(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${CYCLES} kills: integrity ok, every acknowledged message present, threads readable, no stuck upload`, async () => {
    const env = { CHATKIT_DATA_DIR: dataDir, OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: "sk-test" };
    const acknowledged: Array<{ threadId: string; itemId: string }> = [];
    const interruptedUploads: string[] = [];
    let threadId: string | undefined;
    let server: ServerProcess | undefined;
    try {
      for (let cycle = 0; cycle <= CYCLES; cycle++) {
        server = await startServerProcess(env);
        const { url } = server;
        // After every restart: nothing acknowledged is lost, every thread reads, every interrupted upload is retryable.
        for (const { threadId: id, itemId } of acknowledged) {
          const items = await json(url, token, "items.list", { thread_id: id, limit: 1000, order: "asc" });
          assert.equal(items.status, 200);
          assert.ok(items.body.data.some((item: any) => item.id === itemId), `cycle ${cycle}: message ${itemId} survived`);
        }
        const threads = await json(url, token, "threads.list", { limit: 100 });
        for (const thread of threads.body.data) assert.equal((await json(url, token, "threads.get_by_id", { thread_id: thread.id })).status, 200);
        assert.deepEqual(readdirSync(path.join(dataDir, "attachments")).filter((name) => name.startsWith(".upload-")), [], "no temporary files");
        for (const id of interruptedUploads.splice(0)) {
          const retry = await fetch(`${url}/chatkit/upload/${id}`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" }, body: "x".repeat(1000) });
          assert.equal(retry.status, 200, `cycle ${cycle}: upload ${id} is retryable`);
        }
        if (cycle === CYCLES) break;

        // A turn in flight: the user message is acknowledged once its thread.item.done arrived.
        const turn = threadId
          ? { type: "threads.add_user_message", params: { thread_id: threadId, input: userInput(`message ${cycle}`) } }
          : { type: "threads.create", params: { input: userInput(`message ${cycle}`) } };
        const controller = new AbortController();
        const response = await post(url, token, turn, controller.signal);
        const events = readSse(response)[Symbol.asyncIterator]();
        let deltas = 0;
        while (deltas < 3) {
          const next = await events.next();
          if (next.done) break;
          const event: ParsedEvent = next.value;
          if (event.type === "thread.created") threadId = event.thread.id;
          if (event.type === "thread.item.done" && event.item.type === "user_message") acknowledged.push({ threadId: event.item.thread_id, itemId: event.item.id });
          if (event.type === "thread.item.updated") deltas++;
        }
        // An upload in flight: half its bytes sent, the rest never comes.
        const created = await json(url, token, "attachments.create", { name: `f${cycle}.txt`, size: 1000, mime_type: "text/plain" });
        interruptedUploads.push(created.body.id);
        const upload = fetch(`${url}/chatkit/upload/${created.body.id}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "text/plain", "content-length": "1000" },
          body: new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("x".repeat(500))) }),
          duplex: "half",
          signal: controller.signal,
        } as RequestInit).catch(() => undefined);
        await sleep(300);

        server.child.kill("SIGKILL");
        assert.equal(await server.exited, "SIGKILL");
        controller.abort();
        await upload;
        await events.return?.(undefined).catch(() => undefined);
      }
      assert.equal(acknowledged.length, CYCLES);
    } finally {
      server?.child.kill("SIGKILL");
      await server?.exited;
    }
    assert.equal(integrityCheck(dataDir), "ok");
  });
});

describe("racing a stream", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ upstream: { chunks: ["one ", "two ", "three ", "four ", "five"], delayMs: 60 }, config: { agents: [TEST_AGENT] } });
  });
  after(() => server.close({ removeData: true }));

  test("two streams on one thread both finish and leave every item readable, in order", async () => {
    const first = await server.stream("threads.create", { input: userInput("start") });
    const threadId = first.events[0]!.thread.id;
    const [a, b] = await Promise.all([
      server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("a") }),
      server.stream("threads.add_user_message", { thread_id: threadId, input: userInput("b") }),
    ]);
    for (const turn of [a, b]) assert.equal(turn.events.at(-1)!.type, "thread.item.done");
    const stored = (await server.request("items.list", { thread_id: threadId, order: "asc", limit: 100 })).body.data;
    assert.equal(stored.length, 6);
    const ids = [...foldEvents(first.events).items, ...foldEvents(a.events).items, ...foldEvents(b.events).items].map((item) => item.id);
    assert.deepEqual(new Set(stored.map((item: any) => item.id)), new Set(ids));
    const times = stored.map((item: any) => item.created_at);
    assert.deepEqual(times, [...times].sort(), "the list is in creation order");
  });

  test("a delete racing a stream leaves no half thread: gone for good, and the server healthy", async () => {
    const controller = new AbortController();
    const response = await server.request("threads.list", {});
    assert.equal(response.status, 200);
    const streaming = await fetch(`${server.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}` },
      body: JSON.stringify({ type: "threads.create", params: { input: userInput("delete me mid-answer") } }),
      signal: controller.signal,
    });
    const events = readSse(streaming)[Symbol.asyncIterator]();
    let threadId = "";
    for (let next = await events.next(); !next.done; next = await events.next()) {
      if (next.value.type === "thread.created") threadId = next.value.thread.id;
      if (next.value.type === "thread.item.updated") break;
    }
    assert.equal((await server.request("threads.delete", { thread_id: threadId })).status, 200);
    const rest: ParsedEvent[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
    assert.ok(rest.length > 0, "the stream ended with events, not a dropped connection");

    assert.equal((await server.request("threads.get_by_id", { thread_id: threadId })).status, 404);
    assert.equal((await server.request("items.list", { thread_id: threadId })).status, 404);
    const owner = { userId: (await server.store.users.findOrCreate("alice@example.com")).user.id };
    const orphans = await server.db.selectFrom("thread_items").select("id").where("thread_id", "=", threadId).execute();
    assert.deepEqual(orphans, [], `no items of the deleted thread were written after it (${owner.userId})`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const after = await server.stream("threads.create", { input: userInput("still fine") });
    assert.equal(after.events.at(-1)!.item.content[0].text, "one two three four five");
  });
});

describe("a full disk", () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({ text: "short answer" });
  });
  after(() => fake.close());

  test("files that cannot grow (ulimit -f) give a clear error for an upload and a turn, and nothing is corrupted", async () => {
    const dataDir = tempDataDir();
    const token = await mintToken(dataDir, "full@example.com");
    const env = { CHATKIT_DATA_DIR: dataDir, OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: "sk-test" };
    // 2 MiB per file: the database fits, a 3 MB upload and a database that keeps growing do not.
    let server = await startServerProcess(env, { ulimitFileKb: 2048 });
    const acknowledged: string[] = [];
    try {
      const form = new FormData();
      form.append("file", new Blob([Buffer.alloc(3 * 1024 * 1024, 1)], { type: "application/octet-stream" }), "big.bin");
      const upload = await fetch(`${server.url}/chatkit/upload`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
      assert.equal(upload.status, 507);
      assert.equal(((await upload.json()) as any).error, "insufficient_storage");
      assert.deepEqual(readdirSync(path.join(dataDir, "attachments")), [], "no partial file left");

      let refusedTurn: { status: number; body: any } | undefined;
      for (let i = 0; i < 40 && !refusedTurn; i++) {
        const response = await post(server.url, token, { type: "threads.create", params: { input: userInput(`${i} ${"z".repeat(150_000)}`) } });
        if (response.status !== 200) {
          refusedTurn = { status: response.status, body: await response.json() };
          break;
        }
        const events: ParsedEvent[] = [];
        for await (const event of readSse(response)) events.push(event);
        const user = events.find((event) => event.type === "thread.item.done" && event.item.type === "user_message");
        if (user) acknowledged.push(user.item.id);
      }
      assert.ok(refusedTurn, "the database hit the file-size limit");
      assert.equal(refusedTurn.status, 507);
      assert.equal(refusedTurn.body.error, "insufficient_storage");
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, "the server stays up");
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
    // With room again: every acknowledged message is there and the database is sound.
    server = await startServerProcess(env);
    try {
      const threads = await json(server.url, token, "threads.list", { limit: 100 });
      const found = new Set<string>();
      for (const thread of threads.body.data) {
        const items = await json(server.url, token, "items.list", { thread_id: thread.id, limit: 100 });
        assert.equal(items.status, 200);
        for (const item of items.body.data) found.add(item.id);
      }
      for (const id of acknowledged) assert.ok(found.has(id), `message ${id} survived`);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
    assert.equal(integrityCheck(dataDir), "ok");
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe("a full tmpfs", () => {
  /** A small tmpfs of our own, when this machine lets us mount one (root with CAP_SYS_ADMIN). */
  function mountTmpfs(): string | undefined {
    const dir = tempDataDir();
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dir]);
    if (mounted.status === 0) return dir;
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }

  test("with no space left, uploads and turns answer 507 insufficient_storage, and work again once space is freed", async (t) => {
    const dir = mountTmpfs();
    if (!dir) {
      t.skip("mounting a tmpfs is not permitted here (needs root with CAP_SYS_ADMIN); the ulimit -f test covers a full disk");
      return;
    }
    // A read-only data dir cannot be simulated the same way: a tmpfs with open files refuses remount,ro.
    let server: TestServer | undefined;
    const filler = path.join(dir, "filler");
    try {
      server = await startTestServer({ dataDir: dir });
      const before = await server.stream("threads.create", { input: userInput("written") });
      assert.equal(before.events.at(-1)!.type, "thread.item.done");
      // Fill what is left of the disk.
      spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"]);
      let turn: { status: number; body: any } = { status: 200, body: undefined };
      for (let i = 0; i < 20 && turn.status === 200; i++) {
        const response = await post(server.url, await server.token(), { type: "threads.create", params: { input: userInput(`no room ${i} ${"y".repeat(100_000)}`) } });
        const text = await response.text();
        turn = { status: response.status, body: response.status === 200 ? undefined : JSON.parse(text) };
      }
      assert.equal(turn.status, 507);
      assert.equal(turn.body.error, "insufficient_storage");
      const form = new FormData();
      form.append("file", new Blob([Buffer.alloc(256 * 1024, 1)], { type: "application/octet-stream" }), "a.bin");
      const upload = await fetch(`${server.url}/chatkit/upload`, { method: "POST", headers: { authorization: `Bearer ${await server.token()}` }, body: form });
      assert.equal(upload.status, 507);
      assert.deepEqual(readdirSync(path.join(dir, "attachments")), [], "no partial upload left");
      assert.equal((await server.request("threads.get_by_id", { thread_id: before.events[0]!.thread.id })).status, 200, "reading still works");

      rmSync(filler);
      const after = await server.stream("threads.create", { input: userInput("room again") });
      assert.equal(after.events.at(-1)!.type, "thread.item.done");
      await server.close();
      server = undefined;
      assert.equal(integrityCheck(dir), "ok");
    } finally {
      await server?.close();
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
