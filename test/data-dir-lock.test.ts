import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { tempDataDir } from "./support/app.ts";
import { cleanEnv, REPO_ROOT, run } from "./support/process.ts";

/** Starts `npm start` on the data dir; resolves once it has listed its agents (its signal handlers are set then). */
async function startServer(dataDir: string) {
  const child = spawn("npm", ["start"], { cwd: REPO_ROOT, env: cleanEnv({ CHATKIT_DATA_DIR: dataDir, PORT: "0" }) as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    // Generous, as for other child processes; on a timeout the server is stopped, or it would
    // keep the test process alive long after the failure.
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`server did not start: ${output}`));
    }, 90_000);
    child.stdout.on("data", () => {
      if (/agent "assistant"/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, exited, output: () => output };
}

test("a running server locks its data dir: a second server and restore --force refuse, backup works, the lock goes at stop", async () => {
  const dataDir = tempDataDir();
  const work = mkdtempSync(path.join(tmpdir(), "chatkit-lock-"));
  const env = cleanEnv({ CHATKIT_DATA_DIR: dataDir, PORT: "0" });
  const server = await startServer(dataDir);
  try {
    const lock = path.join(dataDir, "server.lock");
    const pid = Number(readFileSync(lock, "utf8"));
    assert.ok(pid > 0);

    const second = await run("npm", ["start"], { env });
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`chatkit failed to start: the data dir .* is in use by process ${pid}`));

    const backup = await run("npm", ["run", "--silent", "backup", "--", path.join(work, "backup")], { env });
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok(!existsSync(path.join(work, "backup", "server.lock")), "the lock is not part of a backup");

    const restore = await run("npm", ["run", "--silent", "restore", "--", path.join(work, "backup"), "--force"], { env });
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, new RegExp(`a server \\(pid ${pid}\\) is using the data dir .*: stop the server first`));
    assert.ok(existsSync(path.join(dataDir, "chatkit.sqlite")), "nothing was deleted");

    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0, server.output());
    assert.ok(!existsSync(lock), "a graceful stop removes the lock");

    // A lock left by a process that died is stale: restore and the server take it over.
    writeFileSync(lock, "2147483646\n");
    const restoreStale = await run("npm", ["run", "--silent", "restore", "--", path.join(work, "backup"), "--force"], { env });
    assert.equal(restoreStale.code, 0, restoreStale.stderr);
    assert.ok(!existsSync(lock), "restore releases the lock it took");
    writeFileSync(lock, "2147483646\n");
    const again = await startServer(dataDir);
    again.child.kill("SIGTERM");
    assert.equal(await again.exited, 0, again.output());
  } finally {
    server.child.kill("SIGTERM"); // npm passes it on; SIGKILL would orphan the server under it
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test("restore into a data dir with only a stale lock needs no --force", async () => {
  const dataDir = await (async () => {
    const dir = tempDataDir();
    const made = await run("npm", ["run", "--silent", "users", "--", "create", "a@example.com"], { env: cleanEnv({ CHATKIT_DATA_DIR: dir }) });
    assert.equal(made.code, 0, made.stderr);
    return dir;
  })();
  const target = tempDataDir();
  try {
    writeFileSync(path.join(target, "server.lock"), "2147483646\n");
    const restore = await run("npm", ["run", "--silent", "restore", "--", dataDir], { env: cleanEnv({ CHATKIT_DATA_DIR: target }) });
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restored 1 users/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  }
});
