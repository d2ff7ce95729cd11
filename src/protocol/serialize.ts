import { toIso } from "../core/clock.ts";
import type { Page, Thread, ThreadItem, ThreadMetadata, ThreadStatus } from "./items.ts";

const EMPTY_PAGE: Page<never> = { data: [], has_more: false };

/** What a thread's wire shape is made of (a store's ThreadRow is one). */
export interface ThreadFields {
  id: string;
  title: string | null;
  status: ThreadStatus;
  created_at: number;
}

export function threadMetadata(row: ThreadFields): ThreadMetadata {
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
export function threadToWire(row: ThreadFields, items: Page<ThreadItem> = EMPTY_PAGE): Thread {
  return { ...threadMetadata(row), items };
}

/**
 * An answer that is already JSON text: pages of stored items are spliced in as the store keeps
 * them rather than parsed and serialised again. The HTTP layer writes it as it is.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A page as the wire shapes it, from its records' JSON texts: `after` (the last record's id) only when more remain. */
export function pageJson(records: string[], hasMore: boolean): string {
  const data = `[${records.join(",")}]`;
  const last = records.at(-1);
  if (!hasMore || last === undefined) return `{"data":${data},"has_more":${hasMore}}`;
  const after = (JSON.parse(last) as { id: string }).id;
  return `{"data":${data},"has_more":true,"after":${JSON.stringify(after)}}`;
}

/** A thread from its metadata JSON (as `threadMetadataJson` makes it) and its items page JSON. */
const withItems = (metadataJson: string, itemPage: string) => `${metadataJson.slice(0, -1)},"items":${itemPage}}`;

/** The JSON of a thread's `ThreadMetadata`: what the store keeps so thread lists are spliced, not built. */
export function threadMetadataJson(row: ThreadFields): string {
  return JSON.stringify(threadMetadata(row));
}

/** `threadToWire` with its items page as JSON text (see `pageJson`). */
export function threadJson(row: ThreadFields, itemPage: string): JsonText {
  return new JsonText(withItems(threadMetadataJson(row), itemPage));
}

const EMPTY_PAGE_JSON = JSON.stringify(EMPTY_PAGE);

/** A page of threads, each with the empty items page lists carry, from their stored metadata JSON. */
export function threadPageJson(threads: string[], hasMore: boolean): JsonText {
  return new JsonText(pageJson(threads.map((thread) => withItems(thread, EMPTY_PAGE_JSON)), hasMore));
}
