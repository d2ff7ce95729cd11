import assert from "node:assert/strict";
import SQLite from "better-sqlite3";
import path from "node:path";
import { test } from "node:test";
import { DATABASE_FILE, openStore } from "../src/store/index.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { itemPage, tempDataDir, threadPage } from "./support/app.ts";

test("every list query walks an index range: no table scan, no sort", async () => {
  const dataDir = tempDataDir();
  const captured: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  let capturing = false;
  const store = await openStore({ dataDir }, { onQuery: (sql, parameters) => capturing && captured.push({ sql, parameters }) });
  const { user } = await store.users.findOrCreate("plans@example.com");
  const owner = { userId: user.id, accountId: user.account_id };
  const thread = await store.threads.create(owner, "assistant");
  const itemId = newId("message");
  await store.items.add(owner, { id: itemId, thread_id: thread.id, created_at: toIso(monotonicNow()), type: "end_of_turn" });

  capturing = true;
  for (const order of ["asc", "desc"] as const) {
    await threadPage(store, owner, { agentId: "assistant", limit: 20, order, after: thread.id });
    await threadPage(store, owner, { limit: 20, order });
    await itemPage(store, owner, thread.id, { limit: 20, order, after: itemId, agentId: "assistant" });
    await itemPage(store, owner, thread.id, { limit: 20, order, includeHidden: true });
  }
  await store.items.history(owner, thread.id);
  await store.items.history(owner, thread.id, { limit: 81 });

  const sqlite = new SQLite(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const listQueries = captured.filter((query) => /order by/i.test(query.sql));
    assert.equal(listQueries.length, 10);
    for (const { sql, parameters } of listQueries) {
      const plan = (sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(parameters as unknown[])) as Array<{ detail: string }>).map((row) => row.detail);
      assert.ok(plan.some((step) => /^SEARCH (threads|thread_items) USING INDEX (threads|thread_items)_\w+_idx/.test(step)), `${sql}\n${plan.join("\n")}`);
      assert.ok(!plan.some((step) => /^SCAN|TEMP B-TREE/.test(step)), `${sql}\n${plan.join("\n")}`);
    }
  } finally {
    sqlite.close();
    await store.close();
  }
});
