import { createRequire } from "node:module";
import { PostgresDialect } from "kysely";
import type pgModule from "pg";

/** `pg`, loaded on first use: a box on SQLite (the default) never needs its code in memory. */
const loadPg = () => createRequire(import.meta.url)("pg") as typeof pgModule;

/** Whether a `database.url` names a PostgreSQL server (the only kind besides the default SQLite). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for logs and `check`. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return `PostgreSQL ${parsed.toString()}`;
  } catch {
    return "PostgreSQL (unparsable URL)";
  }
}

const INT8_OID = 20;

/**
 * `pg` hands bigint (int8) columns back as strings, since they may not fit a JS number. Ours are
 * millisecond times, sizes and counts, far inside 2^53, so they are read as numbers, on this
 * pool only (pg's global parsers are left alone for a host app's own pools).
 */
const typesOf = (pg: typeof pgModule) =>
  ({
    getTypeParser(oid: number, format?: "text" | "binary") {
      if (oid === INT8_OID && format !== "binary") return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format as "text");
    },
  }) as pgModule.CustomTypesConfig;

/** The dialect for a PostgreSQL server, with a pool of at most `poolSize` connections. */
export function postgresDialect(url: string, poolSize: number): { dialect: PostgresDialect; pool: pgModule.Pool } {
  const pg = loadPg();
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: typesOf(pg), connectionTimeoutMillis: 10_000 });
  // An idle connection the server drops (restart, failover) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  return { dialect: new PostgresDialect({ pool }), pool };
}
