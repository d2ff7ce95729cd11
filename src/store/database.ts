import path from "node:path";
import { Kysely, Migrator, type Dialect, type LogEvent, type Migration, type MigrationProvider } from "kysely";
import * as initial from "./migrations/0001_initial.ts";
import * as loginLinks from "./migrations/0002_login_links.ts";
import * as itemSequence from "./migrations/0003_item_sequence.ts";
import * as threadWire from "./migrations/0004_thread_wire.ts";
import * as identities from "./migrations/0005_identities.ts";
import { describePostgresUrl, isPostgresUrl, postgresDialect } from "./postgres.ts";
import type { QueryRunner } from "./prepared.ts";
import type { Database } from "./schema.ts";
import { DATABASE_FILE, sqliteDialect } from "./sqlite.ts";

/** Migrations in order; the import list is the provider, so no file-system scan is needed. */
const migrations: Record<string, Migration> = {
  "0001_initial": initial,
  "0002_login_links": loginLinks,
  "0003_item_sequence": itemSequence,
  "0004_thread_wire": threadWire,
  "0005_identities": identities,
};

const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** Where the database is: a PostgreSQL URL, else SQLite in the data dir. `ChatkitConfig` is one. */
export interface StoreLocation {
  dataDir: string;
  database?: { url?: string | undefined; poolSize?: number | undefined } | undefined;
}

export interface ConnectOptions {
  /** Told every query run (SQL and parameters): for tests and slow-query hunting. */
  onQuery?: (sql: string, parameters: readonly unknown[]) => void;
}

export interface Connection extends QueryRunner {
  kind: "sqlite" | "postgres";
  description: string;
}

/**
 * A kysely handle on the configured database, not migrated. The one place that chooses the
 * dialect; everything above it runs the same queries on either.
 */
export function connectDatabase(location: StoreLocation, options: ConnectOptions = {}): Connection {
  const url = location.database?.url;
  let dialect: Dialect;
  let connection: Omit<Connection, "db" | "onQuery" | "sessionEndings">;
  if (url !== undefined && url !== "") {
    if (!isPostgresUrl(url)) throw new Error(`database.url must be a postgres:// URL (leave it out for SQLite in the data dir)`);
    dialect = postgresDialect(url, location.database?.poolSize ?? 10).dialect;
    connection = { kind: "postgres", description: describePostgresUrl(url), sqlite: () => undefined, outsideChanges: () => undefined };
  } else {
    const sqlite = sqliteDialect(location.dataDir);
    dialect = sqlite.dialect;
    connection = { kind: "sqlite", description: `SQLite ${path.join(location.dataDir, DATABASE_FILE)}`, sqlite: sqlite.handle, outsideChanges: sqlite.dataVersion };
  }
  const onQuery = options.onQuery;
  const log = onQuery ? (event: LogEvent) => onQuery(event.query.sql, event.query.parameters) : undefined;
  return { db: new Kysely<Database>({ dialect, ...(log ? { log } : {}) }), onQuery, sessionEndings: { count: 0 }, ...connection };
}

/**
 * Brings the schema up to date; throws with the failing migration's name. kysely takes a lock
 * first (an advisory lock on PostgreSQL), so servers starting together migrate once.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    const reason = (error as Error).message || String(error);
    throw new Error(failed ? `database migration ${failed.migrationName} failed: ${reason}` : `could not migrate the database: ${reason}`);
  }
}
