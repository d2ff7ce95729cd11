import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { TEST_AGENT, tempDataDir } from "./support/app.ts";
import { cookieHeader, openWithoutRedirect } from "./support/browser.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { cleanEnv, REPO_ROOT, run, SERVER_ARGS } from "./support/process.ts";
import { postgresForTests } from "./support/postgres.ts";
import { startFakeS3, type FakeS3 } from "./support/s3.ts";
import { parseSse } from "./support/sse.ts";
import { pngBytes } from "./support/uploads.ts";

/**
 * Several servers behind one load balancer: two server processes, each with a data dir
 * of its own, on one PostgreSQL database and one S3 bucket, configured as an operator would
 * (CHATKIT_DATABASE_URL, CHATKIT_COOKIE_KEYS, `storage` in the config file). What one does, the
 * other sees.
 */

const postgres = await postgresForTests();
const COOKIE_KEYS = "newest-key-0123456789abcdef,older-key-0123456789abcdef";
const APP_ISSUER = "https://app.test";
const APP_SECRET = "an-app-secret-of-at-least-32-characters";

interface Box {
  url: string;
  child: ChildProcess;
  output: () => string;
}

function startServer(env: Record<string, string>): Promise<Box> {
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd: REPO_ROOT,
    env: cleanEnv({ PORT: "0", ...env }) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${output}`)));
    child.stdout!.on("data", () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child, output: () => output });
      }
    });
  });
}

if (!postgres.cluster) {
  test.skip(`two servers on PostgreSQL: ${postgres.skip}`);
} else {
  const cluster = postgres.cluster;
  describe("two servers on one PostgreSQL database and one bucket", () => {
    let s3: FakeS3;
    let env: Record<string, string>;
    let a: Box;
    let b: Box;
    const dirs: string[] = [];
    before(async () => {
      s3 = await startFakeS3();
      const configDir = tempDataDir();
      dirs.push(configDir);
      const configFile = path.join(configDir, "chatkit.config.mjs");
      const signIn = { jwt: [{ issuer: APP_ISSUER, audience: "chatkit-box", secret: APP_SECRET }] };
      writeFileSync(configFile, `export default ${JSON.stringify({ agents: [TEST_AGENT], storage: s3.storage, database: { poolSize: 4 }, admins: ["boss@example.com"], signIn })};\n`);
      env = { CHATKIT_CONFIG: configFile, CHATKIT_DATABASE_URL: await cluster.createDatabase(), CHATKIT_COOKIE_KEYS: COOKIE_KEYS };
      // Started together: both migrate the empty database at once.
      const started = await Promise.all(
        [1, 2].map(() => {
          const dataDir = tempDataDir();
          dirs.push(dataDir);
          return startServer({ ...env, CHATKIT_DATA_DIR: dataDir });
        }),
      );
      [a, b] = started as [Box, Box];
    });
    after(async () => {
      for (const box of [a, b]) box?.child.kill("SIGKILL");
      await s3?.close();
      await cluster.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const operator = (args: string[]) => run("npm", ["run", "--silent", ...args], { env: cleanEnv({ ...env, CHATKIT_DATA_DIR: tempDataDir() }), timeoutMs: 60_000 });

    /** A browser signed in with `cookie`, talking to one server: cookies need our own Origin. */
    const chatkit = async (box: Box, cookie: string, type: string, params: unknown) => {
      const response = await fetch(`${box.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, origin: box.url },
        body: JSON.stringify({ type, params }),
      });
      const text = await response.text();
      return { status: response.status, text, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined };
    };

    const bearer = (box: Box, token: string) =>
      fetch(`${box.url}/chatkit?agent_id=${TEST_AGENT.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: "threads.list", params: { limit: 1 } }),
      });

    let cookie: string;

    test("both announce PostgreSQL; neither holds a data-dir lock on the database", () => {
      for (const box of [a, b]) assert.match(box.output(), /database: PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:\d+\/chatkit_\w+/);
    });

    test("a login link minted by the operator's command works on server B, and its cookie on server A", async () => {
      const minted = await operator(["login-link", "--", "carol@example.com"]);
      assert.equal(minted.code, 0, minted.stderr);
      const token = /\/login\/([\w-]+)/.exec(minted.stdout)?.[1];
      assert.ok(token, minted.stdout);
      const opened = await openWithoutRedirect(`${b.url}/login/${token}`);
      assert.equal(opened.status, 303);
      cookie = cookieHeader(opened);
      assert.equal((await chatkit(a, cookie, "threads.list", { limit: 10 })).status, 200);
      const again = await openWithoutRedirect(`${a.url}/login/${token}`);
      assert.equal(again.status, 410, "used up on B means used up on A");
    });

    test("a thread streamed on A is listed, read, continued and deleted on B, in one order", async () => {
      const created = await chatkit(a, cookie, "threads.create", { input: userInput("hello from A") });
      assert.equal(created.status, 200);
      const onA = foldEvents(parseSse(created.text));
      assert.deepEqual(onA.errors, []);
      const threadId = onA.thread.id as string;

      const listed = await chatkit(b, cookie, "threads.list", { limit: 10 });
      assert.deepEqual(
        listed.body.data.map((thread: { id: string }) => thread.id),
        [threadId],
      );
      const read = await chatkit(b, cookie, "threads.get_by_id", { thread_id: threadId });
      assert.deepEqual(
        read.body.items.data.map((item: { id: string }) => item.id),
        onA.items.map((item) => item.id),
      );

      const continued = await chatkit(b, cookie, "threads.add_user_message", { thread_id: threadId, input: userInput("and from B") });
      assert.equal(continued.status, 200);
      assert.deepEqual(foldEvents(parseSse(continued.text)).errors, []);
      const all = await chatkit(a, cookie, "items.list", { thread_id: threadId, limit: 20, order: "asc" });
      const types = all.body.data.map((item: { type: string }) => item.type);
      assert.equal(types[0], "user_message");
      assert.equal(all.body.data[0].content[0].text, "hello from A");
      const second = all.body.data.findIndex((item: { type: string; content?: Array<{ text?: string }> }, i: number) => i > 0 && item.type === "user_message");
      assert.equal(all.body.data[second].content[0].text, "and from B");
      assert.ok(types.slice(1, second).includes("assistant_message") && types.slice(second).includes("assistant_message"), types.join());

      assert.equal((await chatkit(b, cookie, "threads.delete", { thread_id: threadId })).status, 200);
      assert.equal((await chatkit(a, cookie, "threads.get_by_id", { thread_id: threadId })).status, 404);
    });

    test("an attachment uploaded on A downloads from B; A's preview link works on B", async () => {
      const bytes = pngBytes(3000);
      const form = new FormData();
      form.append("file", new Blob([bytes], { type: "image/png" }), "cat.png");
      const uploaded = await fetch(`${a.url}/chatkit/upload`, { method: "POST", headers: { cookie, origin: a.url }, body: form });
      assert.equal(uploaded.status, 200);
      const attachment = (await uploaded.json()) as { id: string; preview_url: string };
      assert.ok((await s3.keys()).includes(`attachments/${attachment.id}`));
      const download = await fetch(`${b.url}/chatkit/attachments/${attachment.id}`, { headers: { cookie } });
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
      const preview = await fetch(attachment.preview_url.replace(a.url, b.url));
      assert.equal(preview.status, 200);
      assert.deepEqual(Buffer.from(await preview.arrayBuffer()), bytes);
    });

    test("operator commands run on PostgreSQL; backup and restore point at pg_dump instead", async () => {
      const users = await operator(["users", "--", "list"]);
      assert.equal(users.code, 0, users.stderr);
      assert.match(users.stdout, /carol@example\.com/);
      const sessions = await operator(["sessions", "--", "list", "--email", "carol@example.com"]);
      assert.equal(sessions.code, 0, sessions.stderr);
      assert.match(sessions.stdout, /carol@example\.com/);
      const check = await operator(["check"]);
      assert.equal(check.code, 0, check.stderr);
      // carol, and the first administrator the servers printed a sign-in link for on the empty database.
      assert.match(check.stdout, /database: PostgreSQL \S+ answers \(2 users/);
      assert.match(check.stdout, /attachments: s3:\/\/chatkit-test\/attachments\/ at http:\/\/127\.0\.0\.1:\d+ answers/);
      const backup = await operator(["backup", "--", tempDataDir()]);
      assert.equal(backup.code, 1);
      assert.match(backup.stderr, /pg_dump --format=custom/);
      const restore = await operator(["restore", "--", tempDataDir()]);
      assert.equal(restore.code, 1);
      assert.match(restore.stderr, /pg_restore/);
    });

    test("an admin on A disables a user: their cookie, session token and app token stop on B at once; enabling restores them", async () => {
      const mint = async (email: string) => (await operator(["session", "--", email])).stdout.trim().split("\n").at(-1)!;
      const boss = await mint("boss@example.com");
      const carolToken = await mint("carol@example.com");
      const carolJwt = await new SignJWT({ sub: "carol-1", email: "carol@example.com" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(APP_ISSUER)
        .setAudience("chatkit-box")
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(APP_SECRET));
      const asCarol = async (box: Box) => [
        (await chatkit(box, cookie, "threads.list", { limit: 1 })).status,
        (await bearer(box, carolToken)).status,
        (await bearer(box, carolJwt)).status,
      ];
      const admin = (box: Box, token: string, method: string, path: string) =>
        fetch(`${box.url}/admin/api${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual(await asCarol(b), [200, 200, 200]);
      assert.deepEqual(await asCarol(b), [200, 200, 200], "B has just seen every credential live");
      assert.equal((await admin(a, carolToken, "GET", "/users")).status, 403, "an ordinary user is no admin");
      const users = (await (await admin(b, boss, "GET", "/users")).json()) as { users: Array<{ id: string; email: string; role: string }> };
      const carol = users.users.find((user) => user.email === "carol@example.com")!;
      assert.equal(users.users.find((user) => user.email === "boss@example.com")?.role, "admin");

      assert.equal((await admin(a, boss, "POST", `/users/${carol.id}/disable`)).status, 200);
      assert.deepEqual(await asCarol(b), [401, 401, 401], "refused on the other server on its very next request");
      assert.deepEqual(await asCarol(a), [401, 401, 401]);
      assert.equal((await admin(a, boss, "POST", `/users/${carol.id}/enable`)).status, 200);
      assert.deepEqual(await asCarol(b), [200, 200, 200]);
    });

    test("a server on the shared database without configured cookie keys refuses to start, saying why", async () => {
      const lone = await run(process.execPath, SERVER_ARGS, {
        env: cleanEnv({ ...env, CHATKIT_COOKIE_KEYS: "", CHATKIT_DATA_DIR: tempDataDir(), PORT: "0" }),
        timeoutMs: 60_000,
      });
      assert.equal(lone.code, 1);
      assert.match(lone.stderr, /database\.url is set.*same keys.*CHATKIT_COOKIE_KEYS/);
    });

    test("a server whose bucket does not answer refuses to start, naming it", async () => {
      const configFile = path.join(dirs[0]!, "missing-bucket.config.mjs");
      writeFileSync(configFile, `export default ${JSON.stringify({ agents: [TEST_AGENT], storage: { ...s3.storage, bucket: "no-such-bucket" } })};\n`);
      const refused = await run(process.execPath, SERVER_ARGS, {
        env: cleanEnv({ ...env, CHATKIT_CONFIG: configFile, CHATKIT_DATA_DIR: tempDataDir(), PORT: "0" }),
        timeoutMs: 60_000,
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /attachment storage s3:\/\/no-such-bucket\/attachments\/ at http:\/\/127\.0\.0\.1:\d+ does not answer/);
    });
  });
}
