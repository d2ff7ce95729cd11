import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startTestServer, useDatabaseForTestServers } from "./support/app.ts";
import { postgresForTests } from "./support/postgres.ts";

/**
 * The HTTP suites that touch the store, run again with every test server on PostgreSQL (a
 * database of its own per server, on a throwaway cluster): threads, items, streaming,
 * attachments, isolation between users, and actions, tools and widgets (hidden items). The same
 * files run on SQLite on their own.
 */
const postgres = await postgresForTests();
if (postgres.cluster) {
  const cluster = postgres.cluster;
  after(() => cluster.stop());
  useDatabaseForTestServers(() => cluster.createDatabase());
  test("test servers in this file keep their data in PostgreSQL", async () => {
    const server = await startTestServer();
    try {
      assert.equal(server.store.kind, "postgres");
    } finally {
      await server.close({ removeData: true });
    }
  });
  await import("./threads.test.ts");
  await import("./items.test.ts");
  await import("./streaming.test.ts");
  await import("./attachments.test.ts");
  await import("./auth.test.ts");
  await import("./interactions.test.ts");
  await import("./attachments-in-conversation.test.ts");
} else {
  test.skip(`HTTP suites on postgres: ${postgres.skip}`);
}
