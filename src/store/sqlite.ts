import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from "kysely";

/** The database file in the data dir: with its `attachments/` folder, the whole state of one box. */
export const DATABASE_FILE = "chatkit.sqlite";

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
      if (/^\s*rollback\s*$/i.test(sql)) return rollbackIfOpen(sqlite);
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
 * `rollback` that is a no-op when SQLite has already rolled the transaction back itself, as it
 * does on SQLITE_FULL and I/O errors. Otherwise kysely's rollback fails with "no transaction is
 * active" and that error replaces the real one (a full disk must answer 507, not 500).
 */
function rollbackIfOpen(sqlite: SQLite.Database): SqliteStatement {
  const rollback = sqlite.prepare("rollback");
  return {
    reader: false,
    all: () => [],
    run: () => (sqlite.inTransaction ? rollback.run() : { changes: 0, lastInsertRowid: 0 }),
    iterate: () => [][Symbol.iterator](),
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
 * The dialect for the data dir's SQLite database, created (private to this user) if needed, and
 * its better-sqlite3 handle once open (for reads that skip kysely: see prepared.ts).
 * better-sqlite3 runs one statement at a time on one connection, so writers never interleave.
 */
export function sqliteDialect(dataDir: string): { dialect: SqliteDialect; handle: () => SQLite.Database | undefined; dataVersion: () => number | undefined } {
  let opened: SQLite.Database | undefined;
  let dataVersion: SQLite.Statement | undefined;
  // Opened on the first query, so a handle that is never used never holds the file open.
  const open = async () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, DATABASE_FILE);
    const sqlite = new SQLite(file);
    keepPrivate(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    sqlite.pragma("synchronous = NORMAL");
    opened = sqlite;
    return withStatementCache(sqlite);
  };
  const handle = () => (opened?.open ? opened : undefined);
  return {
    dialect: new SqliteDialect({ database: open }),
    handle,
    dataVersion: () => {
      const sqlite = handle();
      if (!sqlite) return undefined;
      dataVersion ??= sqlite.prepare("PRAGMA data_version").pluck();
      return dataVersion.get() as number;
    },
  };
}

/**
 * SQLite's online backup of the data dir's live database into `file`: a consistent copy even
 * while a server writes. PostgreSQL has pg_dump for this; see `npm run backup -- --help`.
 */
export async function backupSqliteDatabase(dataDir: string, file: string, onProgress?: (done: number, total: number) => void): Promise<void> {
  const sqlite = new SQLite(path.join(dataDir, DATABASE_FILE), { fileMustExist: true });
  sqlite.pragma("busy_timeout = 5000");
  try {
    await sqlite.backup(file, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages - remainingPages, totalPages);
        return 256;
      },
    });
  } finally {
    sqlite.close();
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
