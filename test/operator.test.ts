import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import { startTestServer, tempDataDir } from "./support/app.ts";
import { seedThread } from "./support/fixtures.ts";
import { cleanEnv, run } from "./support/process.ts";

describe("operator commands and persistence", () => {
  test("npm run session prints a bearer token as its last line that the server accepts", async () => {
    const dataDir = tempDataDir();
    const result = await run("npm", ["run", "--silent", "session", "--", "Op@Example.com"], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }) });
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trim().split("\n").at(-1)!;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);

    const server = await startTestServer({ dataDir });
    try {
      const listed = await server.request("threads.list", {}, { token });
      assert.equal(listed.status, 200);
      const user = await server.store.users.findByEmail("op@example.com");
      assert.ok(user, "the user was created with a normalised email");
      const again = await run("npm", ["run", "--silent", "session", "--", "op@example.com"], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }) });
      assert.equal(again.code, 0);
      assert.equal((await server.store.users.list()).length, 1, "the same user is reused");
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("npm run session refuses a missing email with usage help", async () => {
    const result = await run("npm", ["run", "--silent", "session"], { env: cleanEnv({ CHATKIT_DATA_DIR: tempDataDir() }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage: npm run --silent session -- <email>/);
  });

  test("a restart on the same data dir keeps threads, items and sessions", async () => {
    const dataDir = tempDataDir();
    const first = await startTestServer({ dataDir });
    const token = await first.token("keep@example.com");
    const { threadId, items } = await seedThread(first, { email: "keep@example.com", count: 3 });
    await first.request("threads.update", { thread_id: threadId, title: "Kept" }, { token });
    await first.close();

    const second = await startTestServer({ dataDir });
    try {
      const thread = await second.request("threads.get_by_id", { thread_id: threadId }, { token });
      assert.equal(thread.status, 200);
      assert.equal(thread.body.title, "Kept");
      assert.deepEqual(thread.body.items.data, items);
    } finally {
      await second.close({ removeData: true });
    }
  });
});
