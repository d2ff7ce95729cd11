import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../src/store/index.ts";
import { startTestServer, tempDataDir } from "./support/app.ts";
import { cookieHeader, openWithoutRedirect } from "./support/browser.ts";
import { cleanEnv, REPO_ROOT, run } from "./support/process.ts";

const COMMANDS = ["users", "sessions", "agents", "check", "backup", "restore", "login-link", "usage", "quotas"];

describe("operator commands", () => {
  let dataDir: string;
  const npm = (args: string[], env: Record<string, string> = {}) =>
    run("npm", ["run", "--silent", ...args], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir, ...env }) });
  before(() => {
    dataDir = tempDataDir();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("every command answers --help with its usage and exit 0", async () => {
    const results = await Promise.all(COMMANDS.map((name) => npm([name, "--", "--help"])));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, `${COMMANDS[i]}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`Usage: npm run --silent ${COMMANDS[i]}`));
    });
  });

  test("users create, list, disable and enable", async () => {
    assert.equal((await npm(["users", "--", "create", "Ann@Example.com"])).code, 0);
    const listed = await npm(["users", "--", "list"]);
    assert.match(listed.stdout, /ann@example\.com\s+user\s+active/);
    const disabled = await npm(["users", "--", "disable", "ann@example.com"]);
    assert.equal(disabled.code, 0);
    assert.match((await npm(["users", "--", "list"])).stdout, /ann@example\.com\s+user\s+disabled/);
    const link = await npm(["login-link", "--", "ann@example.com"]);
    assert.equal(link.code, 1, "a disabled user gets no link");
    assert.match(link.stderr, /disabled/);
    assert.equal((await npm(["users", "--", "enable", "ann@example.com"])).code, 0);
    assert.match((await npm(["users", "--", "list"])).stdout, /ann@example\.com\s+user\s+active/);
    const unknown = await npm(["users", "--", "disable", "nobody@example.com"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no user nobody@example\.com/);
    const bad = await npm(["users", "--", "frobnicate"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
  });

  test("users invite prints a link valid for signIn.invitationHours; users role makes an admin", async () => {
    const invited = await npm(["users", "--", "invite", "Guest@Example.com"]);
    assert.equal(invited.code, 0, invited.stderr);
    const url = invited.stdout.trim().split("\n").at(-1)!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:8787\/login\/[\w-]{43}$/);
    const store = await openStore({ dataDir });
    try {
      const checked = await store.loginLinks.check(url.split("/login/")[1]!);
      assert.ok(checked.ok && checked.user.email === "guest@example.com");
      assert.ok(checked.ok && Math.abs(checked.link.expires_at - checked.link.created_at - 72 * 3_600_000) < 1000);
    } finally {
      await store.close();
    }
    assert.equal((await npm(["users", "--", "role", "guest@example.com", "admin"])).code, 0);
    assert.match((await npm(["users", "--", "list"])).stdout, /guest@example\.com\s+admin\s+active/);
    assert.equal((await npm(["users", "--", "role", "guest@example.com", "owner"])).code, 2);
    assert.equal((await npm(["users", "--", "role", "nobody@example.com", "user"])).code, 1);
  });

  test("sessions list shows live sessions and revoke ends one or all of a user's", async () => {
    const first = (await npm(["session", "--", "sam@example.com"])).stdout.trim().split("\n").at(-1)!;
    await npm(["session", "--", "sam@example.com"]);
    const store = await openStore({ dataDir: dataDir });
    try {
      const sessionId = (await store.sessions.authenticate(first))!.session.id;
      const listed = await npm(["sessions", "--", "list", "--email", "sam@example.com"]);
      assert.equal(listed.code, 0);
      assert.equal(listed.stdout.match(/sam@example\.com\s+live/g)?.length, 2);
      const revoked = await npm(["sessions", "--", "revoke", sessionId]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(await store.sessions.authenticate(first), undefined, "the revoked token no longer works");
      assert.match((await npm(["sessions", "--", "list"])).stdout, new RegExp(`${sessionId}\\s+sam@example\\.com\\s+revoked`));
      const all = await npm(["sessions", "--", "revoke", "--email", "sam@example.com"]);
      assert.match(all.stdout, /revoked 1 session\(s\) of sam@example\.com/);
      assert.equal((await npm(["sessions", "--", "revoke", sessionId])).code, 1, "revoking twice is reported");
    } finally {
      await store.close();
    }
  });

  test("agents lists the configured agents and where their answers come from", async () => {
    const local = await npm(["agents"]);
    assert.equal(local.code, 0);
    assert.match(local.stdout, /assistant\s+Assistant\s+gpt-4\.1-mini\s+built-in local responder/);
    assert.match(local.stdout, /demo \(stdio\): demo__echo, demo__add/, "the bundled MCP server answers");
    const upstream = await npm(["agents"], { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    assert.match(upstream.stdout, /assistant\s+Assistant\s+gpt-4\.1-mini\s+gpt-4\.1-mini via responses at http:\/\/127\.0\.0\.1:9\/v1\s+does not answer \(ECONNREFUSED\)/);
    const keyless = await npm(["agents"], { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" });
    assert.match(keyless.stdout, /via responses at http:\/\/127\.0\.0\.1:11434\/v1/, "a local server needs no key");
  });

  test("check prints the mode and the data dir's contents, and fails on a broken config or database", async () => {
    const ok = await npm(["check"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /mode: self-hosted/);
    assert.match(ok.stdout, /agent assistant: built-in local responder/);
    assert.match(ok.stdout, /agent assistant: MCP server demo \(stdio\): demo__echo, demo__add/);
    assert.match(ok.stdout, /database: SQLite .* answers \(\d+ users/);
    // An unreachable local port: check asks the upstream, and no test reaches a real outside host.
    const hosted = await npm(["check"], { CHATKIT_WORKFLOW_ID: "wf_1", OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    assert.match(hosted.stdout, /mode: hosted \(client secrets minted for workflow wf_1\)/);
    assert.match(hosted.stdout, /agent assistant: gpt-4\.1-mini via responses at http:\/\/127\.0\.0\.1:9\/v1/);
    const badConfig = await npm(["check"], { PORT: "not-a-port" });
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /server\.port \(from PORT\)/);

    const broken = tempDataDir();
    writeFileSync(path.join(broken, "chatkit.sqlite"), "this is not a database");
    const corrupt = await npm(["check"], { CHATKIT_DATA_DIR: broken });
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /problem: the database .* failed SQLite's check/);
    rmSync(broken, { recursive: true, force: true });
  });

  test("login-link prints a one-time URL on the configured public address as its last line", async () => {
    const result = await npm(["login-link", "--", "lee@example.com", "--agent", "assistant"], { PORT: "9999" });
    assert.equal(result.code, 0, result.stderr);
    const url = result.stdout.trim().split("\n").at(-1)!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:9999\/login\/[A-Za-z0-9_-]{43}$/);
    const unknownAgent = await npm(["login-link", "--", "lee@example.com", "--agent", "nope"]);
    assert.equal(unknownAgent.code, 2);
    assert.match(unknownAgent.stderr, /no agent "nope"/);

    // The printed link signs a browser in on a server over the same data dir, once.
    const server = await startTestServer({ dataDir });
    try {
      const linkOnServer = url.replace("http://127.0.0.1:9999", server.url);
      const opened = await openWithoutRedirect(linkOnServer);
      assert.equal(opened.status, 303);
      const page = await fetch(`${server.url}${opened.headers.get("location")}`, { headers: { cookie: cookieHeader(opened) } });
      assert.equal(page.status, 200);
      assert.equal((await openWithoutRedirect(linkOnServer)).status, 410);
    } finally {
      await server.close();
    }
  });
});

test("restore refuses a non-empty data dir without --force and a folder that is not a backup", async () => {
  const backup = tempDataDir();
  const target = tempDataDir();
  const env = (dir: string) => cleanEnv({ CHATKIT_DATA_DIR: dir });
  try {
    const notBackup = await run("npm", ["run", "--silent", "restore", "--", backup], { env: env(target) });
    assert.equal(notBackup.code, 1);
    assert.match(notBackup.stderr, /does not hold a usable chatkit\.sqlite/);

    const store = await openStore({ dataDir: backup });
    await store.users.findOrCreate("kept@example.com");
    await store.close();
    mkdirSync(path.join(target, "attachments"));
    writeFileSync(path.join(target, "cookie-secret"), "old-secret-of-the-target\n");
    const refused = await run("npm", ["run", "--silent", "restore", "--", backup], { env: env(target) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty; stop the server and add --force/);

    const forced = await run("npm", ["run", "--silent", "restore", "--", backup, "--force"], { env: env(target), cwd: REPO_ROOT });
    assert.equal(forced.code, 0, forced.stderr);
    const restored = await openStore({ dataDir: target });
    assert.ok(await restored.users.findByEmail("kept@example.com"));
    await restored.close();
  } finally {
    rmSync(backup, { recursive: true, force: true });
    rmSync(target, { recursive: true, force: true });
  }
});
