import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { monotonicNow, newId, toIso } from "../src/store/index.ts";
import { startTestServer, tempDataDir } from "./support/app.ts";
import { seedThread } from "./support/fixtures.ts";
import { cleanEnv, run } from "./support/process.ts";

test("a backup taken while the server writes restores into a fresh dir with every thread and attachment", async () => {
  const source = await startTestServer();
  const dest = path.join(mkdtempSync(path.join(tmpdir(), "chatkit-backup-")), "backup");
  const restoredDir = tempDataDir();
  try {
    const token = await source.token("owner@example.com");
    const threads = [];
    for (let i = 0; i < 5; i++) threads.push(await seedThread(source, { email: "owner@example.com", count: 4 }));
    const attachments: Array<{ id: string; bytes: Buffer }> = [];
    for (let i = 0; i < 3; i++) {
      const row = await source.store.attachments.create(threads[0]!.owner, { name: `file-${i}.bin`, mime_type: "application/octet-stream", size_bytes: 70_000 });
      const bytes = randomBytes(70_000);
      writeFileSync(path.join(source.dataDir, "attachments", row.id), bytes);
      attachments.push({ id: row.id, bytes });
    }

    // Keep writing into the busiest thread for as long as the backup runs.
    let writing = true;
    let written = 0;
    const busy = threads[0]!;
    const writer = (async () => {
      while (writing) {
        await source.store.items.add(busy.owner, {
          id: newId("message"),
          thread_id: busy.threadId,
          created_at: toIso(monotonicNow()),
          type: "assistant_message",
          content: [{ type: "output_text", text: `streamed ${written}`, annotations: [] }],
        });
        written += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const backup = await run("npm", ["run", "--silent", "backup", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: source.dataDir }), timeoutMs: 60_000 });
    writing = false;
    await writer;
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.stdout.trim().split("\n").at(-1), dest);
    assert.match(backup.stderr, /database: copied/);
    assert.match(backup.stderr, /attachments: 3 files/);
    assert.ok(written > 0, "the server was writing during the backup");
    assert.ok(existsSync(path.join(dest, "cookie-secret")));

    const restore = await run("npm", ["run", "--silent", "restore", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: restoredDir }) });
    assert.equal(restore.code, 0, restore.stderr);

    const restored = await startTestServer({ dataDir: restoredDir });
    try {
      const listed = await restored.request("threads.list", { limit: 50 }, { token });
      assert.equal(listed.status, 200, "the old session token works on the restored box");
      assert.deepEqual(new Set(listed.body.data.map((t: { id: string }) => t.id)), new Set(threads.map((t) => t.threadId)));
      for (const thread of threads) {
        const got = await restored.request("threads.get_by_id", { thread_id: thread.threadId }, { token });
        assert.equal(got.status, 200);
        const items = got.body.items.data as Array<{ id: string }>;
        assert.deepEqual(items.slice(0, thread.items.length), thread.items, "every item from before the backup is there");
      }
      // A consistent snapshot: the busy thread holds an unbroken prefix of what was written.
      const all = await restored.store.items.history(busy.owner, busy.threadId);
      const streamed = all.slice(busy.items.length).map((item) => (item as { content: Array<{ text: string }> }).content[0]!.text);
      assert.deepEqual(streamed, streamed.map((_, i) => `streamed ${i}`));
      for (const attachment of attachments) {
        assert.ok(await restored.store.attachments.get(busy.owner, attachment.id));
        assert.ok(readFileSync(path.join(restoredDir, "attachments", attachment.id)).equals(attachment.bytes));
      }
      assert.equal(readFileSync(path.join(restoredDir, "cookie-secret"), "utf8"), readFileSync(path.join(source.dataDir, "cookie-secret"), "utf8"));
    } finally {
      await restored.close();
    }
  } finally {
    await source.close({ removeData: true });
    rmSync(path.dirname(dest), { recursive: true, force: true });
    rmSync(restoredDir, { recursive: true, force: true });
  }
});

test("backup refuses a folder that is not empty", async () => {
  const source = await startTestServer();
  const dest = tempDataDir();
  try {
    writeFileSync(path.join(dest, "something"), "x");
    const result = await run("npm", ["run", "--silent", "backup", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: source.dataDir }) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not empty/);
  } finally {
    await source.close({ removeData: true });
    rmSync(dest, { recursive: true, force: true });
  }
});
