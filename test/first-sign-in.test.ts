import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { mintToken, tempDataDir, TEST_AGENT } from "./support/app.ts";
import { cookieHeader, openWithoutRedirect } from "./support/browser.ts";
import { startServerProcess, stopServerProcess, waitForOutput, type ServerProcess } from "./support/process.ts";

const FIRST_LINK = /sign in as the first administrator, (\S+) \(valid 15 minutes.*\n\n {4}(http:\/\/\S+\/login\/[A-Za-z0-9_-]+)\n/;

const dataDirs: string[] = [];
after(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function freshDataDir(): string {
  const dir = tempDataDir();
  dataDirs.push(dir);
  return dir;
}

/** Starts the server on `dataDir`, waits until its start-up lines are out, stops it, and returns what it printed. */
async function startAndStop(dataDir: string, whileRunning?: (server: ServerProcess) => Promise<void>): Promise<string> {
  const server = await startServerProcess({ CHATKIT_DATA_DIR: dataDir });
  try {
    await waitForOutput(server, /agent "assistant": built-in local responder/);
    await whileRunning?.(server);
  } finally {
    await stopServerProcess(server);
  }
  return server.output();
}

test("on a box nobody has signed in to, npm start prints a single-use link that signs the first administrator in; once used, no more", async () => {
  const dataDir = freshDataDir();
  let firstUrl = "";
  const unused = await startAndStop(dataDir, async (server) => {
    const [, email, url] = await waitForOutput(server, FIRST_LINK);
    assert.equal(email, "admin@localhost");
    assert.ok(url!.startsWith(`${server.url}/login/`), "the link points at the port the server really listens on");
    firstUrl = url!;
    const signedOut = await fetch(`${server.url}/`);
    assert.match(await signedOut.text(), /the server prints a single-use sign-in link for the first administrator when it starts/, "the signed-out page says how to get in");
  });
  assert.ok(firstUrl);

  // Not used before a restart: the next start prints a fresh link, which signs in.
  await startAndStop(dataDir, async (server) => {
    const [, , url] = await waitForOutput(server, FIRST_LINK);
    assert.notEqual(url, firstUrl);
    const opened = await openWithoutRedirect(url!);
    assert.equal(opened.status, 303);
    const cookie = cookieHeader(opened);
    assert.match(cookie, /session_id=/);
    const chat = await fetch(`${server.url}${opened.headers.get("location")}`, { headers: { cookie } });
    assert.equal(chat.status, 200, "the session opens the chat page");
    const users = await fetch(`${server.url}/admin/api/users`, { headers: { cookie, origin: server.url } });
    assert.equal(users.status, 200, "the first administrator has the admin role");
    assert.deepEqual(((await users.json()) as { users: Array<{ email: string; role: string }> }).users.map((user) => [user.email, user.role]), [["admin@localhost", "admin"]]);
    assert.equal((await openWithoutRedirect(url!)).status, 410, "the link works once");
  });

  const afterSignIn = await startAndStop(dataDir);
  assert.doesNotMatch(afterSignIn, /first administrator/, "someone has signed in: no link is printed");
  assert.doesNotMatch(unused.replace(FIRST_LINK, ""), /\/login\//, "the link is printed once per start");
});

test("with admins in the config, the link is for the first of them", async () => {
  const dataDir = freshDataDir();
  const config = path.join(dataDir, "box.config.mjs");
  writeFileSync(config, `export default ${JSON.stringify({ admins: ["Boss@Example.com", "deputy@example.com"], agents: [TEST_AGENT] })};\n`);
  const server = await startServerProcess({ CHATKIT_DATA_DIR: dataDir, CHATKIT_CONFIG: config });
  try {
    const [, email] = await waitForOutput(server, FIRST_LINK);
    assert.equal(email, "boss@example.com");
  } finally {
    await stopServerProcess(server);
  }
});

test("a box that already has users prints no sign-in link", async () => {
  const dataDir = freshDataDir();
  await mintToken(dataDir, "someone@example.com");
  assert.doesNotMatch(await startAndStop(dataDir), /\/login\//);
});
