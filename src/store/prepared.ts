import type SQLite from "better-sqlite3";
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from "kysely";
import type { Database } from "./schema.ts";

/** What runs the store's queries: kysely, plus the SQLite handle for reads that may skip it. */
export interface QueryRunner {
  db: Kysely<Database>;
  /** The open better-sqlite3 handle (SQLite only; undefined before the first query). */
  sqlite: () => SQLite.Database | undefined;
  /** Told every query run, as kysely's log is (tests inspect query plans with it). */
  onQuery?: ((sql: string, parameters: readonly unknown[]) => void) | undefined;
  /**
   * SQLite's `data_version`: changes whenever another connection (another process: an operator
   * command) commits a change. Undefined on PostgreSQL, where other servers write unseen.
   */
  outsideChanges: () => number | undefined;
  /** Bumped by this process's own writes that can end a session (revoking it, disabling its user). */
  sessionEndings: { count: number };
}

const MARK = "\u0000param:";

/**
 * A query that kysely builds and compiles once, then runs with new values: on the hot paths
 * (every request's session, list pages, a turn's writes) building and compiling cost several
 * times what running costs. `build` gets placeholders for the values (`p.threadId`) and must use
 * each one as a plain query value; they are found again, by position, in the compiled parameters.
 *
 * Reads (`all`, `first`, `column`): on SQLite, when no transaction holds the connection, the
 * statement runs straight on better-sqlite3, which answers synchronously, so there is no
 * connection hand-off to await. Inside a transaction (another request's, between its awaits) it
 * waits its turn through kysely like any query, so it never reads a write that may still be
 * rolled back. Writes run in the caller's transaction (`in`) or on their own (`run`).
 */
export class PreparedQuery<P extends Record<string, unknown>, Row> {
  // P's fields are optional where a shape of the query does not use them; the ones it uses are checked per call.
  private readonly compiled: CompiledQuery<Row>;
  /** For each compiled parameter: the name of the value it takes, or undefined for a constant. */
  private readonly slots: Array<keyof P | undefined>;
  private statement: SQLite.Statement | undefined;
  private plucked: SQLite.Statement | undefined;

  constructor(
    private readonly runner: QueryRunner,
    build: (values: P) => Compilable<Row>,
  ) {
    const used = new Set<string>();
    const placeholders = new Proxy({} as P, {
      get: (_, name) => {
        used.add(String(name));
        return `${MARK}${String(name)}`;
      },
    });
    this.compiled = build(placeholders).compile();
    this.slots = this.compiled.parameters.map((value) => (typeof value === "string" && value.startsWith(MARK) ? (value.slice(MARK.length) as keyof P) : undefined));
    for (const name of used) {
      if (!this.slots.includes(name)) throw new Error(`prepared query: value "${name}" did not become a query parameter in ${this.compiled.sql}`);
    }
  }

  /** The query's parameters for these values; a value the query uses must be given (undefined would bind NULL). */
  private parameters(values: P): unknown[] {
    const parameters = new Array<unknown>(this.slots.length);
    for (let index = 0; index < this.slots.length; index++) {
      const slot = this.slots[index];
      if (slot === undefined) {
        parameters[index] = this.compiled.parameters[index];
        continue;
      }
      const value = values[slot];
      if (value === undefined) throw new Error(`prepared query: no value for "${String(slot)}" in ${this.compiled.sql}`);
      parameters[index] = value;
    }
    return parameters;
  }

  /** Every row, as objects keyed by the selected column names. */
  async all(values: P): Promise<Row[]> {
    const parameters = this.parameters(values);
    const sqlite = this.direct(parameters);
    if (sqlite) {
      this.statement ??= sqlite.prepare(this.compiled.sql);
      return this.statement.all(...parameters) as Row[];
    }
    return (await this.throughKysely(parameters)).rows;
  }

  async first(values: P): Promise<Row | undefined> {
    return (await this.all(values))[0];
  }

  /**
   * The first selected column of every row: for a page of one column, skipping the object per
   * row (on SQLite a value costs about a third of a microsecond to hand to JavaScript).
   */
  async column<K extends keyof Row>(values: P, column: K): Promise<Array<Row[K]>> {
    const parameters = this.parameters(values);
    const sqlite = this.direct(parameters);
    if (sqlite) {
      this.plucked ??= sqlite.prepare(this.compiled.sql).pluck();
      return this.plucked.all(...parameters) as Array<Row[K]>;
    }
    return (await this.throughKysely(parameters)).rows.map((row) => row[column]);
  }

  /** Runs in the caller's transaction (a write, or a read that must see the transaction's writes). */
  async in(trx: Transaction<Database>, values: P): Promise<QueryResult<Row>> {
    return trx.executeQuery<Row>({ ...this.compiled, parameters: this.parameters(values) });
  }

  /** Runs a write on its own, through kysely. */
  async run(values: P): Promise<QueryResult<Row>> {
    return this.throughKysely(this.parameters(values));
  }

  private throughKysely(parameters: unknown[]): Promise<QueryResult<Row>> {
    return this.runner.db.executeQuery<Row>({ ...this.compiled, parameters });
  }

  /** The SQLite handle when this query may run on it right now; logs the query either way. */
  private direct(parameters: unknown[]): SQLite.Database | undefined {
    const sqlite = this.runner.sqlite();
    const direct = sqlite && !sqlite.inTransaction ? sqlite : undefined;
    // kysely logs the queries it runs itself.
    if (direct) this.runner.onQuery?.(this.compiled.sql, parameters);
    return direct;
  }
}

/**
 * Prepared reads of one query whose shape varies (order, optional filters): one per shape,
 * compiled the first time that shape is asked for. Shapes are few, so this never grows far.
 */
export function preparedShapes<Shape extends Record<string, string | boolean>, P extends Record<string, unknown>, Row>(
  runner: QueryRunner,
  build: (shape: Shape, values: P) => Compilable<Row>,
): (shape: Shape) => PreparedQuery<P, Row> {
  const made = new Map<string, PreparedQuery<P, Row>>();
  return (shape) => {
    const key = JSON.stringify(shape);
    let query = made.get(key);
    if (!query) made.set(key, (query = new PreparedQuery(runner, (values: P) => build(shape, values))));
    return query;
  };
}
