import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase } from "kysely";
import * as initial from "./migrations/0001_initial.ts";
import * as loginLinks from "./migrations/0002_login_links.ts";
import type { Database } from "./schema.ts";

export const DATABASE_FILE = "chatkit.sqlite";

/** Migrations in order; the import list is the provider, so no file-system scan is needed. */
const migrations: Record<string, Migration> = {
  "0001_initial": initial,
  "0002_login_links": loginLinks,
};

const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

const STATEMENT_CACHE_SIZE = 256;

/**
 * better-sqlite3 behind kysely's narrow `SqliteDatabase` interface, with prepared statements
 * reused across queries (kysely prepares on every call; our queries repeat the same few shapes).
 * Statements run to completion synchronously, so sharing one is safe; we never use `.stream()`.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

/**
 * Makes the database file and its WAL side files readable by their owner only (SQLite gives side
 * files it creates the database's mode). A file someone else owns is left as it is.
 */
function keepPrivate(file: string): void {
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(name) || (statSync(name).mode & 0o077) === 0) continue;
    try {
      chmodSync(name, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
    }
  }
}

/**
 * Opens (creating if needed, private to this user) the SQLite database in the data dir.
 * The only SQLite-specific code.
 */
export function openDatabase(dataDir: string): { db: Kysely<Database>; sqlite: SQLite.Database } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  const sqlite = new SQLite(file);
  keepPrivate(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, sqlite };
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    throw new Error(`database migration ${failed?.migrationName ?? ""} failed: ${(error as Error).message ?? error}`);
  }
}

/**
 * Opens a database file and runs SQLite's quick check: "ok", or the first problem
 * found (also when the file is not a database at all). Backup and restore vouch for files with it.
 */
export function checkDatabaseFile(file: string): string {
  try {
    return withDatabaseFile(file, (sqlite) => {
      const rows = sqlite.pragma("quick_check") as Array<{ quick_check: string }>;
      return rows[0]?.quick_check ?? "no answer from quick_check";
    });
  } catch (error) {
    return (error as Error).message;
  }
}

/** Runs `use` on a database file outside a data dir (a backup's copy), closing it after. */
function withDatabaseFile<T>(file: string, use: (sqlite: SQLite.Database) => T): T {
  // Not read-only: a read-only connection cannot remove the -wal/-shm files it creates on a WAL database.
  const sqlite = new SQLite(file, { fileMustExist: true });
  try {
    return use(sqlite);
  } finally {
    sqlite.close();
  }
}

/** Ids of the attachments in a database file whose bytes were uploaded: each must have its file. */
export function readyAttachmentIds(file: string): string[] {
  return withDatabaseFile(file, (sqlite) => sqlite.prepare("SELECT id FROM attachments WHERE status = 'ready'").pluck().all() as string[]);
}

/** Deletes attachment rows from a database file (a backup's copy, for files deleted while it ran). */
export function deleteAttachmentRows(file: string, ids: string[]): void {
  withDatabaseFile(file, (sqlite) => {
    const remove = sqlite.prepare("DELETE FROM attachments WHERE id = ?");
    sqlite.transaction(() => ids.forEach((id) => remove.run(id)))();
  });
}
