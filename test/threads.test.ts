import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { ownerOf, seedThread } from "./support/fixtures.ts";

describe("threads requests", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close({ removeData: true }));

  test("threads.get_by_id answers the thread with its first 20 items oldest first", async () => {
    const { threadId, items } = await seedThread(server, { count: 23 });
    const { status, body } = await server.request("threads.get_by_id", { thread_id: threadId });
    assert.equal(status, 200);
    assert.equal(body.id, threadId);
    assert.deepEqual(body.status, { type: "active" });
    assert.deepEqual(body.metadata, {});
    assert.ok(!("title" in body), "an untitled thread leaves title out");
    assert.ok(!Number.isNaN(Date.parse(body.created_at)));
    assert.deepEqual(body.items.data.map((i: any) => i.id), items.slice(0, 20).map((i) => i.id));
    assert.equal(body.items.has_more, true);
    assert.equal(body.items.after, items[19]!.id);
    assert.deepEqual(body.items.data[0], items[0], "items round-trip exactly as stored");
  });

  test("threads.list pages newest first with limit, after and has_more", async () => {
    const email = "lister@example.com";
    const token = await server.token(email);
    const empty = await server.request("threads.list", {}, { token });
    assert.deepEqual(empty.body, { data: [], has_more: false });

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await seedThread(server, { email })).threadId);
    const newestFirst = [...ids].reverse();

    const first = await server.request("threads.list", { limit: 2 }, { token });
    assert.deepEqual(first.body.data.map((t: any) => t.id), newestFirst.slice(0, 2));
    assert.equal(first.body.has_more, true);
    assert.equal(first.body.after, newestFirst[1]);
    for (const thread of first.body.data) assert.deepEqual(thread.items, { data: [], has_more: false });

    const second = await server.request("threads.list", { limit: 2, after: first.body.after }, { token });
    assert.deepEqual(second.body.data.map((t: any) => t.id), newestFirst.slice(2, 4));
    const last = await server.request("threads.list", { limit: 2, after: second.body.after }, { token });
    assert.deepEqual(last.body, { data: [{ ...last.body.data[0], id: newestFirst[4] }], has_more: false });

    const exact = await server.request("threads.list", { limit: 5 }, { token });
    assert.equal(exact.body.data.length, 5);
    assert.equal(exact.body.has_more, false, "an exact page has no more");
    assert.ok(!("after" in exact.body));

    const afterLast = await server.request("threads.list", { after: newestFirst[4] }, { token });
    assert.deepEqual(afterLast.body, { data: [], has_more: false });

    const asc = await server.request("threads.list", { order: "asc", limit: null }, { token });
    assert.deepEqual(asc.body.data.map((t: any) => t.id), ids);
  });

  test("threads.list needs an agent and shows only that agent's threads", async () => {
    const email = "agents@example.com";
    const token = await server.token(email);
    const mine = await seedThread(server, { email, agentId: "assistant" });
    await seedThread(server, { email, agentId: "other" });
    const listed = await server.request("threads.list", {}, { token });
    assert.deepEqual(listed.body.data.map((t: any) => t.id), [mine.threadId]);

    for (const agentId of [null, "no-such-agent"]) {
      const missing = await server.request("threads.list", {}, { token, agentId });
      assert.equal(missing.status, 422);
      assert.equal(missing.body.error, "agent_required");
    }
  });

  test("threads.update sets and clears the title", async () => {
    const { threadId } = await seedThread(server);
    const renamed = await server.request("threads.update", { thread_id: threadId, title: "  Trip to Rome " });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.title, "Trip to Rome");
    assert.deepEqual(renamed.body.items, { data: [], has_more: false });
    const fetched = await server.request("threads.get_by_id", { thread_id: threadId });
    assert.equal(fetched.body.title, "Trip to Rome");
    const cleared = await server.request("threads.update", { thread_id: threadId, title: "" });
    assert.ok(!("title" in cleared.body));
  });

  test("threads.delete removes the thread, its items, feedback and attachment files", async () => {
    const { threadId, items, owner } = await seedThread(server, { count: 2 });
    const attachment = await server.store.attachments.create(owner, { name: "a.txt", mime_type: "text/plain", size_bytes: 1 });
    await server.store.attachments.linkToItem(owner, [attachment.id], threadId, items[0]!.id);
    const file = `${server.dataDir}/attachments/${attachment.id}`;
    writeFileSync(file, "x");
    await server.request("items.feedback", { thread_id: threadId, item_ids: [items[1]!.id], kind: "positive" });

    const deleted = await server.request("threads.delete", { thread_id: threadId });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, {});
    assert.equal((await server.request("threads.get_by_id", { thread_id: threadId })).status, 404);
    assert.equal(await server.store.items.get(owner, threadId, items[0]!.id), undefined);
    assert.equal(await server.store.attachments.get(owner, attachment.id), undefined);
    assert.equal(existsSync(file), false);
    const left = await server.db.selectFrom("item_feedback").selectAll().where("thread_id", "=", threadId).execute();
    assert.deepEqual(left, []);
    assert.equal((await server.request("threads.delete", { thread_id: threadId })).status, 404);
  });

  test("a thread of another agent is not found when an agent is named", async () => {
    const { threadId } = await seedThread(server, { agentId: "other" });
    const scoped = await server.request("threads.get_by_id", { thread_id: threadId });
    assert.equal(scoped.status, 404);
    const unscoped = await server.request("threads.get_by_id", { thread_id: threadId }, { agentId: null });
    assert.equal(unscoped.status, 200);
    await ownerOf(server, "alice@example.com");
  });
});
