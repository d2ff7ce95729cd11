import type { Kysely } from "kysely";

// Landed migrations are never edited: add a new numbered file instead.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("disabled_at", "bigint")
    .execute();
  await db.schema.createIndex("users_account_idx").on("users").column("account_id").execute();

  await db.schema
    .createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("last_used_at", "bigint")
    .execute();
  await db.schema.createIndex("sessions_user_idx").on("sessions").columns(["user_id", "created_at"]).execute();

  await db.schema
    .createTable("threads")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("agent_id", "text", (c) => c.notNull())
    .addColumn("title", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("metadata", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  // Keyset pagination: (user, created_at, id) and (user, agent, created_at, id) make list pages range scans.
  await db.schema.createIndex("threads_user_created_idx").on("threads").columns(["user_id", "created_at", "id"]).execute();
  await db.schema
    .createIndex("threads_user_agent_created_idx")
    .on("threads")
    .columns(["user_id", "agent_id", "created_at", "id"])
    .execute();

  await db.schema
    .createTable("thread_items")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("thread_id", "text", (c) => c.notNull().references("threads.id").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("thread_items_thread_created_idx")
    .on("thread_items")
    .columns(["thread_id", "created_at", "id"])
    .execute();

  await db.schema
    .createTable("item_feedback")
    .addColumn("item_id", "text", (c) => c.notNull().references("thread_items.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("thread_id", "text", (c) => c.notNull().references("threads.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("item_feedback_pk", ["item_id", "user_id"])
    .execute();
  await db.schema.createIndex("item_feedback_thread_idx").on("item_feedback").column("thread_id").execute();

  await db.schema
    .createTable("attachments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("thread_id", "text", (c) => c.references("threads.id").onDelete("set null"))
    .addColumn("item_id", "text")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("mime_type", "text", (c) => c.notNull())
    .addColumn("size_bytes", "bigint", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("uploaded_at", "bigint")
    .execute();
  await db.schema.createIndex("attachments_user_idx").on("attachments").column("user_id").execute();
  await db.schema.createIndex("attachments_thread_idx").on("attachments").column("thread_id").execute();
  // Housekeeping finds uploads never sent with a message.
  await db.schema.createIndex("attachments_unsent_idx").on("attachments").columns(["thread_id", "created_at"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["attachments", "item_feedback", "thread_items", "threads", "sessions", "users", "accounts"]) {
    await db.schema.dropTable(table).execute();
  }
}
