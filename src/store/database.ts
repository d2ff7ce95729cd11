import { mkdirSync } from "node:fs";
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

/** Opens (creating if needed) the SQLite database in the data dir. The only SQLite-specific code. */
export function openDatabase(dataDir: string): { db: Kysely<Database>; sqlite: SQLite.Database } {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new SQLite(path.join(dataDir, DATABASE_FILE));
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
  let sqlite: SQLite.Database | undefined;
  try {
    // Not read-only: a read-only connection cannot remove the -wal/-shm files it creates on a WAL database.
    sqlite = new SQLite(file, { fileMustExist: true });
    const rows = sqlite.pragma("quick_check") as Array<{ quick_check: string }>;
    return rows[0]?.quick_check ?? "no answer from quick_check";
  } catch (error) {
    return (error as Error).message;
  } finally {
    sqlite?.close();
  }
}
