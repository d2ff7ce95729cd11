import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { openStore } from "../src/store/index.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { startTestServer, tempDataDir } from "./support/app.ts";
import { ownerOf, seedThread } from "./support/fixtures.ts";
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

/** A stopped box's data dir with one thread and one uploaded attachment; returns the dir. */
async function stoppedDataDir(): Promise<string> {
  const source = await startTestServer();
  const owner = await ownerOf(source, "owner@example.com");
  await seedThread(source, { email: "owner@example.com", count: 2 });
  const id = newId("attachment");
  writeFileSync(path.join(source.dataDir, "attachments", id), randomBytes(1000), { mode: 0o600 });
  await source.store.attachments.createUploaded(owner, { id, name: "a.bin", mime_type: "application/octet-stream", size_bytes: 1000 });
  await source.close();
  return source.dataDir;
}

const mode = (file: string) => statSync(file).mode & 0o777;

test("restore refuses an interrupted backup and a copy missing an attachment file, and takes a plain copy of a stopped server", async () => {
  const dataDir = await stoppedDataDir();
  const work = mkdtempSync(path.join(tmpdir(), "chatkit-backup-"));
  const backup = (dest: string) => run("npm", ["run", "--silent", "backup", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }) });
  const restore = (src: string) => run("npm", ["run", "--silent", "restore", "--", src], { env: cleanEnv({ CHATKIT_DATA_DIR: path.join(work, `restored-${path.basename(src)}`) }) });
  try {
    // Interrupt a backup after the database snapshot: the cookie secret cannot be copied.
    const secret = path.join(dataDir, "cookie-secret");
    renameSync(secret, `${secret}.aside`);
    mkdirSync(secret);
    const interrupted = await backup(path.join(work, "interrupted"));
    assert.notEqual(interrupted.code, 0, "the backup fails");
    rmSync(secret, { recursive: true });
    renameSync(`${secret}.aside`, secret);
    const fromInterrupted = await restore(path.join(work, "interrupted"));
    assert.equal(fromInterrupted.code, 1, fromInterrupted.stderr);
    assert.match(fromInterrupted.stderr, /interrupted backup/);

    const complete = path.join(work, "complete");
    assert.equal((await backup(complete)).code, 0);
    const missingFile = path.join(work, "missing-file");
    cpSync(complete, missingFile, { recursive: true });
    rmSync(path.join(missingFile, "attachments"), { recursive: true });
    const fromMissing = await restore(missingFile);
    assert.equal(fromMissing.code, 1, fromMissing.stderr);
    assert.match(fromMissing.stderr, /the files of 1 uploaded attachment\(s\) are missing/);

    const plainCopy = path.join(work, "plain-copy");
    cpSync(dataDir, plainCopy, { recursive: true });
    const fromCopy = await restore(plainCopy);
    assert.equal(fromCopy.code, 0, fromCopy.stderr);
    assert.match(fromCopy.stderr, /restored 1 users, 1 threads, 2 items, 1 attachments/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test("backups, restored data dirs and new data dirs are private to their owner", async () => {
  const dataDir = await stoppedDataDir();
  const work = mkdtempSync(path.join(tmpdir(), "chatkit-backup-"));
  const dest = path.join(work, "backup");
  const restoredDir = path.join(work, "restored");
  try {
    const backup = await run("npm", ["run", "--silent", "backup", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }) });
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(mode(dest), 0o700);
    assert.equal(mode(path.join(dest, "chatkit.sqlite")), 0o600);
    assert.equal(mode(path.join(dest, "attachments")), 0o700);

    const restore = await run("npm", ["run", "--silent", "restore", "--", dest], { env: cleanEnv({ CHATKIT_DATA_DIR: restoredDir }) });
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(mode(restoredDir), 0o700);
    assert.equal(mode(path.join(restoredDir, "chatkit.sqlite")), 0o600);
    assert.equal(mode(path.join(restoredDir, "cookie-secret")), 0o600);

    const fresh = path.join(work, "fresh");
    const store = await openStore({ dataDir: fresh });
    try {
      await store.users.findOrCreate("new@example.com");
      assert.equal(mode(fresh), 0o700);
      assert.equal(mode(path.join(fresh, "chatkit.sqlite")), 0o600);
      assert.equal(mode(path.join(fresh, "chatkit.sqlite-wal")), 0o600, "SQLite's side files follow the database");
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
