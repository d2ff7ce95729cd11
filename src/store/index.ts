import type { Kysely } from "kysely";
import { AttachmentStore } from "./attachments.ts";
import { migrateToLatest, openDatabase } from "./database.ts";
import { ItemStore } from "./items.ts";
import type { Database } from "./schema.ts";
import { SessionStore } from "./sessions.ts";
import { ThreadStore } from "./threads.ts";
import { UserStore } from "./users.ts";

export type { Owner } from "./owner.ts";
export type { PageRequest, PageResult } from "./pagination.ts";
export { monotonicNow, toIso } from "./clock.ts";
export { newId } from "./ids.ts";
export { DATABASE_FILE } from "./database.ts";

export interface Store {
  db: Kysely<Database>;
  users: UserStore;
  sessions: SessionStore;
  threads: ThreadStore;
  items: ItemStore;
  attachments: AttachmentStore;
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
