import type { Selectable } from "kysely";
import type { AttachmentRow, IdentityRow, LoginLinkRow, SessionRow, UserRow } from "./contract.ts";

/**
 * The tables as the database holds them, private to src/store (the rest of the app sees the
 * decoded records of contract.ts). Times are integer milliseconds since the epoch; JSON columns
 * hold text. Nothing here is dialect-specific: SQLite and PostgreSQL serve the same shapes.
 */
export interface Database {
  accounts: AccountsTable;
  // These hold their records exactly as the contract hands them out.
  users: UserRow;
  identities: IdentityRow;
  sessions: SessionRow;
  attachments: AttachmentRow;
  login_links: LoginLinkRow;
  threads: ThreadsTable;
  thread_items: ThreadItemsTable;
  item_feedback: ItemFeedbackTable;
}

export interface AccountsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ThreadsTable {
  id: string;
  account_id: string;
  user_id: string;
  agent_id: string;
  title: string | null;
  /** ThreadStatus JSON, e.g. {"type":"active"}. */
  status: string;
  /** Server-side metadata JSON; never sent to the client. */
  metadata: string;
  created_at: number;
  updated_at: number;
  /**
   * The thread's wire metadata JSON (id, title, created_at, status; migration 0004), rewritten
   * with every change to those, so lists are spliced from it.
   */
  wire: string;
}

export interface ThreadItemsTable {
  id: string;
  thread_id: string;
  type: string;
  created_at: number;
  /**
   * The item's place in its thread, given by the database when the item is first stored
   * (migration 0003): never a server's clock, so several servers agree on the order.
   */
  seq: number;
  /** The item's full protocol JSON, so every item type round-trips unchanged. */
  data: string;
}

export interface ItemFeedbackTable {
  item_id: string;
  user_id: string;
  thread_id: string;
  kind: string;
  created_at: number;
}

export type ThreadRecord = Selectable<ThreadsTable>;
