import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { extract } from "tar-stream";
import { startTestServer, type TestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { pngBytes, uploadDirect } from "./support/uploads.ts";

/** The entries of a .tar.gz, by name. */
async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: unknown) => void chunks.push(chunk as Buffer));
      stream.on("end", () => {
        entries.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    reader.on("finish", resolve);
    reader.on("error", reject);
  });
  reader.end(gunzipSync(archive));
  await done;
  return entries;
}

describe("the operator's admin API: people, usage, storage, the box, quotas, delete and export", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  let root: string;
  let ann: string;
  let annId: string;
  before(async () => {
    fake = await startFakeOpenAI({ text: "Answer.", usage: { input: 30, output: 12, reasoning: 0, cached: 5 } });
    server = await startTestServer({ config: { admins: ["root@example.com"], openai: { apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 } } });
    root = await server.token("root@example.com");
    ann = await server.token("ann@example.com");
    annId = (await server.store.users.findByEmail("ann@example.com"))!.id;
  });
  after(async () => {
    await server.close({ removeData: true });
    await fake.close();
  });

  const api = async (method: string, route: string, token: string, body?: unknown) => {
    const response = await fetch(`${server.url}/admin/api${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const type = response.headers.get("content-type") ?? "";
    return { status: response.status, type, headers: response.headers, body: type.includes("json") ? await response.json() as any : Buffer.from(await response.arrayBuffer()) };
  };

  test("an ordinary user gets 403 from every operator route, including their own export through the admin API", async () => {
    for (const [method, route] of [["GET", "/people"], ["GET", "/usage"], ["GET", "/storage"], ["GET", "/box"], ["PUT", `/users/${annId}/quotas`], ["DELETE", `/users/${annId}`], ["GET", `/users/${annId}/export`]] as const) {
      const answer = await api(method, route, ann, method === "PUT" ? { tokens_per_day: 1, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null } : undefined);
      assert.equal(answer.status, 403, `${method} ${route}`);
    }
  });

  test("people show each user's tokens this month, stored bytes and quotas; usage sums by day, user, agent and model, also as CSV", async () => {
    const created = await server.stream("threads.create", { input: userInput("Hello") }, { token: ann });
    assert.deepEqual(foldEvents(created.events).errors, []);
    await uploadDirect(server, { name: "cat.png", type: "image/png", bytes: pngBytes(500) }, ann);
    const people = await api("GET", "/people?q=ann", root);
    assert.equal(people.status, 200);
    assert.equal(people.body.people.length, 1);
    const person = people.body.people[0];
    assert.deepEqual([person.email, person.tokens_this_month, person.turns_this_month, person.stored_bytes], ["ann@example.com", 42, 1, 500]);
    assert.ok(person.last_seen);
    const usage = await api("GET", "/usage", root);
    const row = usage.body.rows.find((r: any) => r.user === "ann@example.com");
    assert.deepEqual([row.agent, row.model, row.kind, row.count, row.input_tokens, row.output_tokens, row.cached_tokens], ["assistant", "test-model", "turn", 1, 30, 12, 5]);
    const csv = await api("GET", "/usage?format=csv", root);
    assert.match(csv.type, /text\/csv/);
    const lines = csv.body.toString().trim().split("\r\n");
    assert.equal(lines[0], "day,user,agent,model,kind,count,input_tokens,output_tokens,reasoning_tokens,cached_tokens,unreported,failed,tool_calls,mcp_calls");
    assert.ok(lines.some((line: string) => line.includes(",ann@example.com,assistant,test-model,turn,1,30,12,0,5,0,0,0,0")), lines.join("\n"));
    assert.equal((await api("GET", "/usage?from=2026-13-01", root)).status, 400);
  });

  test("storage and the box's health", async () => {
    const storage = await api("GET", "/storage", root);
    assert.equal(storage.body.users.find((u: any) => u.email === "ann@example.com").stored_bytes, 500);
    assert.deepEqual(storage.body.unsent_uploads, { count: 1, bytes: 500 }, JSON.stringify(storage.body));
    const box = await api("GET", "/box", root);
    assert.equal(box.status, 200);
    assert.match(box.body.database, /SQLite/);
    assert.equal(box.body.model_upstreams.length, 1);
    assert.equal(box.body.model_upstreams[0].ok, true, JSON.stringify(box.body.model_upstreams));
    assert.equal(box.body.limits.streamsPerUser, server.config.limits.streamsPerUser);
    assert.ok(box.body.errors_by_key.some((entry: any) => entry.key === "forbidden"), "the 403s above are counted");
  });

  test("a quota override set through the API refuses ann's next turn; each change is a log line", async () => {
    const set = await api("PUT", `/users/${annId}/quotas`, root, { tokens_per_day: 10, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null });
    assert.equal(set.status, 200);
    assert.ok(server.logger.jsonLines.some((line) => /"event":"quotas_changed".*"by":"root@example.com".*"user":"ann@example.com"/.test(line)));
    const refused = await server.stream("threads.create", { input: userInput("More") }, { token: ann });
    assert.equal(refused.events[0]!.type, "error");
    assert.equal((await api("PUT", `/users/${annId}/quotas`, root, { tokens_per_day: -1 })).status, 400);
    await api("PUT", `/users/${annId}/quotas`, root, { tokens_per_day: null, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null });
  });

  test("the export holds every thread with its items and every file, and reads back; a user gets their own from the account API", async () => {
    const second = await server.stream("threads.create", { input: userInput("Second thread") }, { token: ann });
    const secondId = foldEvents(second.events).thread.id;
    const archive = await api("GET", `/users/${annId}/export`, root);
    assert.equal(archive.status, 200);
    assert.match(archive.headers.get("content-disposition")!, /chatkit-export-ann_example.com/);
    const entries = await untar(archive.body);
    assert.ok(entries.has(`threads/${secondId}.json`), [...entries.keys()].join());
    const threadFiles = [...entries.keys()].filter((name) => name.startsWith("threads/"));
    assert.equal(threadFiles.length, 2);
    const exported = JSON.parse(entries.get(`threads/${secondId}.json`)!.toString());
    const listed = (await server.request("items.list", { thread_id: secondId, order: "asc", limit: 100 }, { token: ann })).body.data;
    assert.deepEqual(exported.items.filter((item: any) => !item.type.startsWith("sdk_") && item.type !== "hidden_context_item").map((item: any) => item.id), listed.map((item: any) => item.id));
    assert.equal(exported.thread.id, secondId);
    const attachments = JSON.parse(entries.get("attachments.json")!.toString());
    assert.equal(attachments.length, 1);
    assert.deepEqual(entries.get(`files/${attachments[0].id}/cat.png`), pngBytes(500));
    assert.equal(JSON.parse(entries.get("user.json")!.toString()).email, "ann@example.com");

    const own = await fetch(`${server.url}/account/api/export`, { headers: { authorization: `Bearer ${ann}` } });
    assert.equal(own.status, 200);
    const ownEntries = await untar(Buffer.from(await own.arrayBuffer()));
    assert.deepEqual([...ownEntries.keys()].filter((name) => name.startsWith("threads/")).sort(), threadFiles.sort());
  });

  test("deleting a user leaves no row of theirs in any table and no file in the storage; an admin cannot delete themself", async () => {
    const attachmentIds = (await server.store.userData.attachmentsOf(annId)).map((row) => row.id);
    assert.ok(attachmentIds.length > 0);
    const ann2 = (await server.store.users.findById(annId))!;
    const deleted = await api("DELETE", `/users/${annId}`, root);
    assert.equal(deleted.status, 200);
    const tables = (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(server.db)).rows.map((row) => row.name);
    for (const table of tables) {
      const rows = (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(server.db)).rows.map((row) => JSON.stringify(row));
      const theirs = rows.filter((row) => [annId, ann2.account_id, "ann@example.com", ...attachmentIds].some((mark) => row.includes(mark)));
      assert.deepEqual(theirs, [], `nothing of ann's in ${table}`);
    }
    const files = existsSync(path.join(server.dataDir, "attachments")) ? readdirSync(path.join(server.dataDir, "attachments")) : [];
    assert.deepEqual(files.filter((name) => attachmentIds.some((id) => name.includes(id))), []);
    assert.ok(server.logger.jsonLines.some((line) => /"event":"user_deleted".*"user":"ann@example.com"/.test(line)));
    assert.equal((await fetch(`${server.url}/chatkit?agent_id=assistant`, { method: "POST", headers: { authorization: `Bearer ${ann}`, "content-type": "application/json" }, body: '{"type":"threads.list","params":{}}' })).status, 401);
    const rootId = (await server.store.users.findByEmail("root@example.com"))!.id;
    assert.equal((await api("DELETE", `/users/${rootId}`, root)).status, 409);
    assert.equal((await api("DELETE", `/users/${annId}`, root)).status, 404);
  });
});
