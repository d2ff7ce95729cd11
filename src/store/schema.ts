import type { Generated, Insertable, Selectable } from "kysely";

/**
 * The single source of table shapes. Times are integer milliseconds since the epoch; JSON
 * columns hold text. Nothing here is SQLite-specific, so another kysely dialect can serve it.
 */
export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  threads: ThreadsTable;
  thread_items: ThreadItemsTable;
  item_feedback: ItemFeedbackTable;
  attachments: AttachmentsTable;
  login_links: LoginLinksTable;
}

export interface AccountsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface UsersTable {
  id: string;
  account_id: string;
  email: string;
  created_at: number;
  disabled_at: number | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** sha256 of the bearer token; the token itself is never stored. */
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
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
}

export interface ThreadItemsTable {
  id: string;
  thread_id: string;
  type: string;
  created_at: number;
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

export interface AttachmentsTable {
  id: string;
  account_id: string;
  user_id: string;
  /** Set once the attachment is sent with a user message. */
  thread_id: string | null;
  item_id: string | null;
  name: string;
  mime_type: string;
  /** Declared size for two-phase uploads until the bytes arrive, then the real size. */
  size_bytes: number;
  /** "pending" until an upload claims it, "uploading" while its bytes arrive, then "ready". */
  status: string;
  created_at: number;
  uploaded_at: number | null;
}

export interface LoginLinksTable {
  id: string;
  user_id: string;
  /** sha256 of the link's token; the token is only ever in the printed URL. */
  token_hash: string;
  /** The agent whose page the link opens; null opens the first configured agent. */
  agent_id: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type AccountRow = Selectable<AccountsTable>;
export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type ThreadRow = Selectable<ThreadsTable>;
export type ThreadItemRow = Selectable<ThreadItemsTable>;
export type AttachmentRow = Selectable<AttachmentsTable>;
export type LoginLinkRow = Selectable<LoginLinksTable>;
export type NewAttachmentRow = Insertable<AttachmentsTable>;
// Generated is re-exported for migrations that add defaulted columns later.
export type { Generated };
