import { sql, type Expression, type SelectQueryBuilder } from "kysely";
import type { PageRequest, PageResult } from "./contract.ts";

/** Where a page starts: after the cursor row's key (a seq may be a subquery), or from the start. */
export type PageStart = { columns: ["created_at", "id"]; after?: [number, string] } | { columns: ["seq"]; after?: [number | Expression<{ seq: number }>] };

/**
 * Keyset pagination: the rows just after the cursor's key in the chosen order, limit+1 of them
 * (the extra one tells whether more remain). The key is unique, so rows never skip or repeat.
 * Values may be placeholders of a prepared query (see prepared.ts).
 */
export function keysetQuery<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, order: PageRequest["order"], start: PageStart, limitPlusOne: number): SelectQueryBuilder<DB, TB, O> {
  const op = order === "asc" ? ">" : "<";
  // Typed loosely: the key columns exist on every table paged here (threads, thread_items).
  let q = query as unknown as SelectQueryBuilder<any, any, O>;
  const after = start.after;
  if (after) {
    // A row-value comparison, (created_at, id) > (?, ?), is a range on the (…, created_at, id)
    // index in SQLite and PostgreSQL alike; the equivalent OR of two conditions is not.
    q = after.length === 1 ? q.where(start.columns[0], op, after[0]) : q.where((eb) => eb(eb.refTuple("created_at", "id"), op, eb.tuple(after[0], after[1])));
  }
  for (const column of start.columns) q = q.orderBy(column, order);
  // `LIMIT (? + 0)`, not `LIMIT ?`: SQLite's planner reads a bare bound LIMIT and marks the
  // statement to be compiled again whenever that parameter is bound, which is every time a
  // prepared page read runs (about a third of its cost). The sum is the same limit to both
  // databases, evaluated when the statement runs; the plan is the index walk either way.
  return q.limit(sql<number>`(${limitPlusOne} + 0)`) as unknown as SelectQueryBuilder<DB, TB, O>;
}

/** The page from limit+1 rows fetched by `keysetQuery`. */
export function toPageResult<T>(rows: T[], limit: number): PageResult<T> {
  const hasMore = rows.length > limit;
  return { rows: hasMore ? rows.slice(0, limit) : rows, hasMore };
}
