import type { Kysely } from "kysely";
import { AttachmentStore } from "./attachments.ts";
import { migrateToLatest, openDatabase } from "./database.ts";
import { ItemStore } from "./items.ts";
import { LoginLinkStore } from "./login-links.ts";
import type { Database } from "./schema.ts";
import { SessionStore } from "./sessions.ts";
import { ThreadStore } from "./threads.ts";
import { UserStore } from "./users.ts";

export type { Owner } from "./owner.ts";
export type { PageRequest, PageResult } from "./pagination.ts";
export { DATABASE_FILE, checkDatabaseFile, deleteAttachmentRows, readyAttachmentIds } from "./database.ts";

export interface Store {
  db: Kysely<Database>;
  users: UserStore;
  sessions: SessionStore;
  threads: ThreadStore;
  items: ItemStore;
  attachments: AttachmentStore;
  loginLinks: LoginLinkStore;
  /** How many users, live sessions, threads, items and attachments the database holds. */
  counts(): Promise<Record<"users" | "sessions" | "threads" | "items" | "attachments", number>>;
  /** SQLite's online backup of the live database into `file`. */
  backup(file: string, onProgress?: (done: number, total: number) => void): Promise<void>;
  close(): Promise<void>;
}

/** Opens the data dir's database and migrates it to the latest schema. */
export async function openStore(dataDir: string): Promise<Store> {
  const { db, sqlite } = openDatabase(dataDir);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    users: new UserStore(db),
    sessions: new SessionStore(db),
    threads: new ThreadStore(db),
    items: new ItemStore(db),
    attachments: new AttachmentStore(db),
    loginLinks: new LoginLinkStore(db),
    async counts() {
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
    async backup(file, onProgress) {
      await sqlite.backup(file, {
        progress: ({ totalPages, remainingPages }) => {
          onProgress?.(totalPages - remainingPages, totalPages);
          return 256;
        },
      });
    },
    close: () => db.destroy(),
  };
}
