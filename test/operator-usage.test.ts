import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { openStore } from "../src/store/index.ts";
import { tempDataDir } from "./support/app.ts";
import { cleanEnv, run } from "./support/process.ts";

describe("operator commands: usage, quotas, users export and delete", () => {
  let dataDir: string;
  const npm = (args: string[]) => run("npm", ["run", "--silent", ...args], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }), timeoutMs: 120_000 });
  before(async () => {
    dataDir = tempDataDir();
    const store = await openStore({ dataDir });
    const { user } = await store.users.findOrCreate("ann@example.com");
    const thread = await store.threads.create({ userId: user.id, accountId: user.account_id }, "assistant", "Ann's thread");
    const base = { user_id: user.id, agent_id: "assistant", model: "gpt-test", thread_id: thread.id, kind: "turn" as const, started_at: Date.now(), duration_ms: 5, model_calls: 1, reported_calls: 1, reasoning_tokens: 0, cached_tokens: 2, tool_calls: 1, mcp_calls: 0, outcome: "done" as const, error: null };
    await store.usage.record({ ...base, input_tokens: 100, output_tokens: 20 });
    await store.usage.record({ ...base, input_tokens: 50, output_tokens: 5 });
    await store.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("usage prints a table by user, agent and model, and CSV with --csv", async () => {
    const table = await npm(["usage"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /ann@example\.com\s+assistant\s+gpt-test\s+turn\s+2\s+150\s+25\s+0\s+4\s+0\s+0/);
    const csv = await npm(["usage", "--", "--csv", "--by-day"]);
    assert.match(csv.stdout, new RegExp(`^day,user,agent,model,kind,count,input_tokens[^\\r]*\\r\\n${new Date().toISOString().slice(0, 10)},ann@example\\.com,assistant,gpt-test,turn,2,150,25,0,4,0,0,2,0\\r\\n$`));
    assert.equal((await npm(["usage", "--", "--from", "yesterday"])).code, 2);
  });

  test("quotas set, show and clear a user's overrides", async () => {
    const set = await npm(["quotas", "--", "set", "ann@example.com", "--tokens-per-day", "1000"]);
    assert.equal(set.code, 0, set.stderr);
    assert.match((await npm(["quotas", "--", "show", "ann@example.com"])).stdout, /tokens today 175 of 1000/);
    assert.match((await npm(["quotas", "--", "list"])).stdout, /ann@example\.com\s+1000\s+-/);
    assert.equal((await npm(["quotas", "--", "set", "ann@example.com", "--stored-bytes", "-3"])).code, 2);
    assert.equal((await npm(["quotas", "--", "clear", "ann@example.com"])).code, 0);
    assert.match((await npm(["quotas", "--", "show", "ann@example.com"])).stdout, /tokens today 175 of -/);
  });

  test("users export writes the archive; users delete needs --yes, then leaves nothing of the user", async () => {
    const out = path.join(dataDir, "ann.tar.gz");
    const exported = await npm(["users", "--", "export", "ann@example.com", "--out", out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(existsSync(out));
    assert.match(gunzipSync(readFileSync(out)).toString("latin1"), /Ann's thread/);
    const refused = await npm(["users", "--", "delete", "ann@example.com"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);
    const deleted = await npm(["users", "--", "delete", "ann@example.com", "--yes"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const store = await openStore({ dataDir });
    try {
      assert.equal(await store.users.findByEmail("ann@example.com"), undefined);
      assert.deepEqual(await store.usage.list({ from: 0, to: Date.now() + 1 }), []);
    } finally {
      await store.close();
    }
  });
});
