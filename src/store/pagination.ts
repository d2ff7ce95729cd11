import type { SelectQueryBuilder } from "kysely";

export interface PageRequest {
  limit: number;
  order: "asc" | "desc";
  /** Id of the last record of the previous page. */
  after?: string | null | undefined;
}

export interface PageResult<T> {
  rows: T[];
  hasMore: boolean;
}

/**
 * Keyset pagination over (created_at, id): the page starts just after the cursor row in the chosen
 * order. Fetches limit+1 rows to know whether more remain. Ties on created_at are broken by id, so
 * equal timestamps never skip or repeat a row.
 *
 * `query` selects from a single table that has `id` and `created_at`; `cursor` is that table's
 * (created_at) of the `after` row, or null for the first page. An unknown cursor yields an empty page.
 */
export async function keysetPage<T>(
  query: SelectQueryBuilder<any, any, T>,
  page: PageRequest,
  cursorCreatedAt: number | null | undefined,
): Promise<PageResult<T>> {
  if (page.after && cursorCreatedAt == null) return { rows: [], hasMore: false };
  const op = page.order === "asc" ? ">" : "<";
  let q = query;
  if (page.after && cursorCreatedAt != null) {
    const after = page.after;
    // A row-value comparison, (created_at, id) > (?, ?), is a range on the (…, created_at, id)
    // index in SQLite and PostgreSQL alike; the equivalent OR of two conditions is not.
    q = q.where((eb) => eb(eb.refTuple("created_at", "id"), op, eb.tuple(cursorCreatedAt, after)));
  }
  const rows = await q.orderBy("created_at", page.order).orderBy("id", page.order).limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  return { rows: hasMore ? rows.slice(0, page.limit) : rows, hasMore };
}
