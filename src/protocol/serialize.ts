import type { ThreadRow } from "../store/index.ts";
import { toIso } from "../core/clock.ts";
import type { Page, Thread, ThreadItem, ThreadMetadata, ThreadStatus } from "./items.ts";

const EMPTY_PAGE: Page<never> = { data: [], has_more: false };

/** A page as the wire shapes it: `after` (the last id) only when more remain. */
export function toPage<T extends { id: string }>(rows: T[], hasMore: boolean): Page<T> {
  const last = rows.at(-1);
  return hasMore && last ? { data: rows, has_more: true, after: last.id } : { data: rows, has_more: hasMore };
}

export function threadMetadata(row: ThreadRow): ThreadMetadata {
  const thread: ThreadMetadata = {
    id: row.id,
    created_at: toIso(row.created_at),
    status: row.status,
    metadata: {},
  };
  if (row.title !== null) thread.title = row.title;
  return thread;
}

/** A Thread with its items page; lists and thread events carry an empty page. */
export function threadToWire(row: ThreadRow, items: Page<ThreadItem> = EMPTY_PAGE): Thread {
  return { ...threadMetadata(row), items };
}
