import type { Selectable } from "kysely";
import type { AttachmentRow, IdentityRow, LoginLinkRow, SessionRow, UsageRow, UserRow } from "./contract.ts";

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
  usage_events: UsageRow;
  usage_totals: UsageTotalsTable;
  user_storage: UserStorageTable;
  upload_reservations: UploadReservationsTable;
  user_quotas: UserQuotasTable;
}

/** Running totals (migration 0010): `period` is a UTC day (`2026-12-02`) or month (`2026-12`); `agent_id` `*` is all agents. */
export interface UsageTotalsTable {
  user_id: string;
  period: string;
  agent_id: string;
  tokens: number;
  turns: number;
}

export interface UserStorageTable {
  user_id: string;
  /** Bytes of the user's ready attachments (uploads and generated images). */
  stored_bytes: number;
}

export interface UploadReservationsTable {
  id: string;
  user_id: string;
  bytes: number;
  expires_at: number;
}

export interface UserQuotasTable {
  user_id: string;
  tokens_per_day: number | null;
  tokens_per_month: number | null;
  stored_bytes: number | null;
  uploads_in_flight: number | null;
  updated_at: number;
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
