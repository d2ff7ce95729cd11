import type { FeedbackKind, ThreadItem, ThreadStatus } from "../protocol/items.ts";

/**
 * What the rest of the app may ask of the store, whatever database serves it. Records come back
 * decoded (JSON columns parsed, times as integer milliseconds); how they are kept is the
 * implementation's business. test/store-contract.test.ts holds every implementation to this.
 */

/** Whose data a store call touches. Every query that reads or writes user data takes one. */
export interface Owner {
  userId: string;
  accountId: string;
}

export interface PageRequest {
  limit: number;
  order: "asc" | "desc";
  /** Id of the last record of the previous page. */
  after?: string | null | undefined;
}

/** A page of the owner's threads, optionally only one agent's. */
export interface ThreadPageRequest extends PageRequest {
  agentId?: string | undefined;
}

/** A page of a thread's items; hidden items are left out unless asked for. */
export interface ItemPageRequest extends PageRequest {
  includeHidden?: boolean;
  /** Only when the thread belongs to this agent (else the page is empty, as for a foreign thread). */
  agentId?: string | undefined;
}

export interface PageResult<T> {
  rows: T[];
  hasMore: boolean;
}

/** `admin` may manage users (the admin API and page); `user` is everyone else. */
export type UserRole = "admin" | "user";

export interface UserRow {
  id: string;
  account_id: string;
  email: string;
  role: UserRole;
  created_at: number;
  disabled_at: number | null;
}

/**
 * A way a user signs in: `email-link`, `oidc:<issuer>`, `jwt:<issuer>` or `proxy`, and the
 * provider's stable id for the person (`sub`; the address for email links and the proxy header).
 */
export interface IdentityRow {
  id: string;
  user_id: string;
  provider: string;
  subject: string;
  /** The address the provider last gave, if any. */
  email: string | null;
  created_at: number;
  last_used_at: number | null;
}

/** What a provider vouches for when someone signs in. */
export interface SignInClaim {
  provider: string;
  subject: string;
  email: string | null;
  /** Whether the provider checked that the person owns `email`; an unverified address neither links nor creates a user. */
  emailVerified: boolean;
}

/**
 * The signed-in user (`created` when this sign-in made it), or why nobody is signed in:
 * `disabled` (the user is disabled), `no_email` (an unknown identity without a verified address
 * to link or create a user by).
 */
export type SignInResult = { user: UserRow; created: boolean } | { refused: "disabled" | "no_email" };

export interface SessionRow {
  id: string;
  user_id: string;
  /** sha256 of the bearer token; the token itself is never stored. */
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface ThreadRow {
  id: string;
  account_id: string;
  user_id: string;
  agent_id: string;
  title: string | null;
  status: ThreadStatus;
  /** Server-side metadata; never sent to the client. */
  metadata: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface AttachmentRow {
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
  status: "pending" | "uploading" | "ready";
  created_at: number;
  uploaded_at: number | null;
}

export interface LoginLinkRow {
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

/** Why a login link could not be used; an unknown token and a used one read the same to a guesser. */
export type LoginLinkRefusal = "unknown" | "used" | "expired" | "user_disabled";

/** A usable link with its user, or why it cannot sign in. */
export type ConsumedLoginLink = { ok: true; link: LoginLinkRow; user: UserRow } | { ok: false; reason: LoginLinkRefusal };

export interface ThreadChanges {
  title?: string | null;
  status?: ThreadStatus;
  metadata?: Record<string, unknown>;
}

/** A user named by id (the admin API) or by email (the operator's commands). */
export type WhichUser = { id: string } | { email: string };

export interface UserStore {
  findByEmail(email: string): Promise<UserRow | undefined>;
  findById(id: string): Promise<UserRow | undefined>;
  /** The user with this email, created together with an account of its own when missing; one user even under concurrent calls. */
  findOrCreate(email: string): Promise<{ user: UserRow; created: boolean }>;
  /** Every user, oldest first. */
  list(): Promise<UserRow[]>;
  /**
   * Disables (or re-enables) a user; a disabled user's sessions, login links and identities stop
   * working at once, on every server sharing the database. Undefined for an unknown user.
   */
  setDisabled(who: WhichUser, disabled: boolean): Promise<UserRow | undefined>;
  /** Sets a user's role; undefined for an unknown user. */
  setRole(who: WhichUser, role: UserRole): Promise<UserRow | undefined>;
}

export interface IdentityStore {
  /**
   * Signs someone in by a provider's claim: the user with this identity (provider, subject); else
   * the user with the claim's verified email, to whom the identity is then linked; else a new
   * user with that email and the identity. One user and one identity even under concurrent calls.
   */
  signIn(claim: SignInClaim): Promise<SignInResult>;
  /** A user's identities, oldest first. */
  listFor(userId: string): Promise<IdentityRow[]>;
}

export interface SessionStore {
  /** Creates a session and returns its bearer token; only the token's hash is stored. */
  create(userId: string, ttlDays: number | null): Promise<{ session: SessionRow; token: string }>;
  /** The live session and enabled user for a token, or undefined (unknown, revoked, expired, disabled). */
  authenticate(token: string): Promise<{ session: SessionRow; user: UserRow } | undefined>;
  /** Every session with its user's email, oldest first: the operator's view. */
  listAll(): Promise<Array<SessionRow & { email: string }>>;
  /** A user's live sessions (not revoked, not expired), oldest first: what the user sees of their own. */
  listLiveFor(userId: string): Promise<SessionRow[]>;
  /** Revokes every live session of a user, but for `except` (signing out one's other sessions); returns how many were revoked. */
  revokeAllForUser(userId: string, options?: { except?: string }): Promise<number>;
  /** Revokes one session by id; returns whether a live session was revoked. */
  revoke(sessionId: string): Promise<boolean>;
}

export interface ThreadStore {
  create(owner: Owner, agentId: string, title?: string | null): Promise<ThreadRow>;
  /** The owner's thread, optionally only if it belongs to `agentId`; undefined otherwise. */
  get(owner: Owner, threadId: string, agentId?: string): Promise<ThreadRow | undefined>;
  /**
   * A page of the owner's threads by creation time (ties broken by id), each as its wire metadata
   * JSON (`ThreadMetadata`, no items), for answers that splice it. An unknown `after` gives an empty page.
   */
  listJson(owner: Owner, page: ThreadPageRequest): Promise<PageResult<string>>;
  /** Applies changes and bumps updated_at; returns the new record, or undefined if not the owner's. */
  update(owner: Owner, threadId: string, changes: ThreadChanges): Promise<ThreadRow | undefined>;
  /**
   * Deletes the thread with its items, feedback and attachment records. Returns the ids of the
   * attachments whose bytes the caller must now remove, or undefined when it is not the owner's.
   */
  delete(owner: Owner, threadId: string): Promise<{ attachmentIds: string[] } | undefined>;
}

export interface ItemStore {
  /**
   * Appends an item to the owner's thread (throws if the thread is not the owner's). Items are
   * ordered by when the database took them, never by a server's clock.
   */
  add(owner: Owner, item: ThreadItem): Promise<void>;
  /** Inserts (appended) or replaces (keeping its place) an item by id: protocol `save_item`. */
  save(owner: Owner, item: ThreadItem): Promise<void>;
  get(owner: Owner, threadId: string, itemId: string): Promise<ThreadItem | undefined>;
  /**
   * A page of the thread's items in thread order, each as its protocol JSON text, for answers
   * that splice items in without parsing them. An unknown `after` gives an empty page.
   */
  listJson(owner: Owner, threadId: string, page: ItemPageRequest): Promise<PageResult<string>>;
  /**
   * The thread's items in order, hidden ones included (what the model's view is built from);
   * with `limit`, only the newest `limit` of them, read newest first from the thread's index.
   */
  history(owner: Owner, threadId: string, options?: { limit?: number }): Promise<ThreadItem[]>;
  delete(owner: Owner, threadId: string, itemId: string): Promise<void>;
  /** Deletes every item after `itemId` (retry), atomically; returns the deleted items' ids and types, oldest first. */
  deleteAfter(owner: Owner, threadId: string, itemId: string): Promise<Array<{ id: string; type: string }>>;
  /**
   * Records feedback on items of the owner's thread (one verdict per user and item, the latest
   * wins). Returns false, storing nothing, if any item is not in that thread.
   */
  addFeedback(owner: Owner, threadId: string, itemIds: string[], kind: FeedbackKind): Promise<boolean>;
}

export interface AttachmentStore {
  /** A two-phase attachment (`attachments.create`): pending until its bytes arrive. */
  create(owner: Owner, fields: { name: string; mime_type: string; size_bytes: number }): Promise<AttachmentRow>;
  /** A direct upload whose bytes are already stored under `id`: ready at once. */
  createUploaded(owner: Owner, fields: { id: string; name: string; mime_type: string; size_bytes: number }): Promise<AttachmentRow>;
  get(owner: Owner, attachmentId: string): Promise<AttachmentRow | undefined>;
  /**
   * An attachment by id alone, for a signed preview link: there the HMAC over the id, checked
   * before this is called, is the proof of access. Every other read goes through `get`.
   */
  getForSignedLink(attachmentId: string): Promise<AttachmentRow | undefined>;
  /** The owner's uploaded attachments among `ids`, in the order asked for; unknown, foreign and pending ones left out. */
  getMany(owner: Owner, ids: string[]): Promise<AttachmentRow[]>;
  /** Claims a pending attachment for one upload (pending → uploading), atomically; whether this caller got it. */
  claimForUpload(owner: Owner, attachmentId: string): Promise<boolean>;
  /** Gives a claimed attachment back (uploading → pending) after a refused or broken upload. */
  releaseUpload(owner: Owner, attachmentId: string): Promise<void>;
  /** Completes a claimed upload (uploading → ready); undefined when it is gone (deleted meanwhile). */
  markUploaded(owner: Owner, attachmentId: string, sizeBytes: number): Promise<AttachmentRow | undefined>;
  /**
   * Links attachments (checked with `getMany` first) to the user message that carries them. An
   * attachment belongs to one message only: ones already linked are left alone. Returns how many were linked.
   */
  linkToItem(owner: Owner, ids: string[], threadId: string, itemId: string): Promise<number>;
  /**
   * After a crash: uploads that were receiving bytes go back to pending so the client can send
   * them again. Only for a lone server before it takes requests (another may be receiving them).
   */
  releaseInterruptedUploads(): Promise<number>;
  /** Deletes the owner's attachment; whether one was deleted. */
  delete(owner: Owner, attachmentId: string): Promise<boolean>;
  /**
   * Removes uploads never sent with a message and created before `cutoff`; returns their ids.
   * Safe on several servers at once: each id is returned to exactly one caller.
   */
  deleteUnsentBefore(cutoff: number): Promise<string[]>;
}

export interface LoginLinkStore {
  /** Creates a link for the user, valid for `ttlMs`; returns the token to put in the URL. */
  create(userId: string, options: { agentId: string | null; ttlMs: number }): Promise<{ link: LoginLinkRow; token: string }>;
  /** Whether the link would sign in now, without using it up (for asking the person to confirm). */
  check(token: string): Promise<ConsumedLoginLink>;
  /** Marks the link used, exactly once: of concurrent openings (on any server) only one succeeds. */
  consume(token: string): Promise<ConsumedLoginLink>;
}

export type StoreCounts = Record<"users" | "sessions" | "threads" | "items" | "attachments", number>;

export interface Store {
  /** "sqlite" (a file in the data dir) or "postgres" (a server several app servers share). */
  readonly kind: "sqlite" | "postgres";
  /** Where the data lives, for logs and `check`, without credentials. */
  readonly description: string;
  users: UserStore;
  identities: IdentityStore;
  sessions: SessionStore;
  threads: ThreadStore;
  items: ItemStore;
  attachments: AttachmentStore;
  loginLinks: LoginLinkStore;
  /** How many users, live sessions, threads, items and attachments the database holds (also proves it answers). */
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;
}
