import { sql, type Kysely } from "kysely";

// Landed migrations are never edited: add a new numbered file instead.

/**
 * Usage per model call (turns, titles, transcriptions), running token totals per user, agent and
 * period that a quota check reads by key, each user's stored bytes kept as a counter (filled here
 * from the attachments already stored), uploads reserving their bytes while they arrive, and the
 * quotas an admin set for one user.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("usage_events")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("agent_id", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("thread_id", "text")
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("duration_ms", "bigint", (c) => c.notNull())
    .addColumn("model_calls", "integer", (c) => c.notNull())
    .addColumn("reported_calls", "integer", (c) => c.notNull())
    .addColumn("input_tokens", "bigint")
    .addColumn("output_tokens", "bigint")
    .addColumn("reasoning_tokens", "bigint")
    .addColumn("cached_tokens", "bigint")
    .addColumn("tool_calls", "integer", (c) => c.notNull())
    .addColumn("mcp_calls", "integer", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("usage_events_time_idx").on("usage_events").column("started_at").execute();
  await db.schema.createIndex("usage_events_user_time_idx").on("usage_events").columns(["user_id", "started_at"]).execute();

  await db.schema
    .createTable("usage_totals")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("period", "text", (c) => c.notNull())
    .addColumn("agent_id", "text", (c) => c.notNull())
    .addColumn("tokens", "bigint", (c) => c.notNull())
    .addColumn("turns", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("usage_totals_pk", ["user_id", "period", "agent_id"])
    .execute();
  await db.schema.createIndex("usage_totals_period_idx").on("usage_totals").columns(["period", "agent_id"]).execute();

  await db.schema
    .createTable("user_storage")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("stored_bytes", "bigint", (c) => c.notNull())
    .execute();
  await sql`INSERT INTO user_storage (user_id, stored_bytes)
    SELECT id, COALESCE((SELECT SUM(size_bytes) FROM attachments WHERE attachments.user_id = users.id AND attachments.status = 'ready'), 0) FROM users`.execute(db);

  await db.schema
    .createTable("upload_reservations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("bytes", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("upload_reservations_user_idx").on("upload_reservations").column("user_id").execute();

  await db.schema
    .createTable("user_quotas")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("tokens_per_day", "bigint")
    .addColumn("tokens_per_month", "bigint")
    .addColumn("stored_bytes", "bigint")
    .addColumn("uploads_in_flight", "integer")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["user_quotas", "upload_reservations", "user_storage", "usage_totals", "usage_events"]) await db.schema.dropTable(table).execute();
}
