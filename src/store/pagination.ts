import type { SelectQueryBuilder } from "kysely";
import type { PageRequest, PageResult } from "./contract.ts";

/** The sort key of a page: (created_at, id) for threads, seq (unique in a thread) for items. */
export type PageKey = { columns: ["created_at", "id"]; cursor: [number, string] | undefined } | { columns: ["seq"]; cursor: [number] | undefined };

/**
 * Keyset pagination: the page starts just after the cursor row in the chosen order. Fetches
 * limit+1 rows to know whether more remain. The key is unique, so rows never skip or repeat.
 * `key.cursor` is the `after` row's key, undefined for the first page; an unknown cursor
 * (`after` given, no key found) yields an empty page.
 */
export async function keysetPage<T>(query: SelectQueryBuilder<any, any, T>, page: PageRequest, key: PageKey): Promise<PageResult<T>> {
  if (page.after && key.cursor === undefined) return { rows: [], hasMore: false };
  const op = page.order === "asc" ? ">" : "<";
  let q = query;
  if (key.cursor !== undefined) {
    const cursor = key.cursor;
    // A row-value comparison, (created_at, id) > (?, ?), is a range on the (…, created_at, id)
    // index in SQLite and PostgreSQL alike; the equivalent OR of two conditions is not.
    q =
      cursor.length === 1
        ? q.where(key.columns[0], op, cursor[0])
        : q.where((eb) => eb(eb.refTuple("created_at", "id"), op, eb.tuple(cursor[0], cursor[1])));
  }
  for (const column of key.columns) q = q.orderBy(column, page.order);
  const rows = await q.limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  return { rows: hasMore ? rows.slice(0, page.limit) : rows, hasMore };
}
