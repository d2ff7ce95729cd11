import { SqlAttachmentStore } from "./attachments.ts";
import type { Store, StoreCounts } from "./contract.ts";
import { connectDatabase, migrateToLatest, type ConnectOptions, type StoreLocation } from "./database.ts";
import { SqlIdentityStore } from "./identities.ts";
import { SqlItemStore } from "./items.ts";
import { SqlLoginLinkStore } from "./login-links.ts";
import { SqlSessionStore } from "./sessions.ts";
import { SqlThreadStore } from "./threads.ts";
import { SqlUserStore } from "./users.ts";

export type * from "./contract.ts";
export type { ConnectOptions, StoreLocation } from "./database.ts";
export { connectDatabase } from "./database.ts";
export { isPostgresUrl } from "./postgres.ts";
export { DATABASE_FILE, backupSqliteDatabase, checkDatabaseFile, deleteAttachmentRows, readyAttachmentIds } from "./sqlite.ts";

/**
 * Opens the configured database (PostgreSQL for a `database.url`, else SQLite in the data dir)
 * and migrates it to the latest schema. One implementation serves both: the same kysely queries
 * over either dialect.
 */
export async function openStore(location: StoreLocation, options: ConnectOptions = {}): Promise<Store> {
  const connection = connectDatabase(location, options);
  const { db, kind, description } = connection;
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw new Error(`${description}: ${(error as Error).message}`, { cause: error });
  }
  const threads = new SqlThreadStore(connection);
  const users = new SqlUserStore(connection);
  return {
    kind,
    description,
    users,
    identities: new SqlIdentityStore(connection, users),
    sessions: new SqlSessionStore(connection),
    threads,
    items: new SqlItemStore(connection, threads.lockOwnedThread),
    attachments: new SqlAttachmentStore(db),
    loginLinks: new SqlLoginLinkStore(db),
    async counts(): Promise<StoreCounts> {
      const count = async (table: "users" | "threads" | "thread_items" | "attachments") =>
        Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
      const liveSessions = await db
        .selectFrom("sessions")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("revoked_at", "is", null)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", Date.now())]))
        .executeTakeFirstOrThrow();
      return {
        users: await count("users"),
        sessions: Number(liveSessions.n),
        threads: await count("threads"),
        items: await count("thread_items"),
        attachments: await count("attachments"),
      };
    },
    close: () => db.destroy(),
  };
}
