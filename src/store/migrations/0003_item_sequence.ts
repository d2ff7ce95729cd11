import { sql, type Kysely } from "kysely";

// Landed migrations are never edited: add a new numbered file instead.

/**
 * Items get their place in the thread from the database (`seq`, 1, 2, 3… per thread) instead of
 * their `created_at`, which came from one server's clock: with several servers on one
 * PostgreSQL, clocks differ. Existing items are numbered in their old order. SQLite cannot add a
 * NOT NULL column without a default, so the column is nullable and the store always sets it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("thread_items").addColumn("seq", "bigint").execute();
  await sql`
    UPDATE thread_items SET seq = ranked.n
    FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY thread_id ORDER BY created_at, id) AS n FROM thread_items) AS ranked
    WHERE thread_items.id = ranked.id
  `.execute(db);
  // Pages are range scans of (thread_id, seq); the unique index also refuses two items in one place.
  await db.schema.createIndex("thread_items_thread_seq_idx").on("thread_items").columns(["thread_id", "seq"]).unique().execute();
  await db.schema.dropIndex("thread_items_thread_created_idx").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("thread_items_thread_created_idx").on("thread_items").columns(["thread_id", "created_at", "id"]).execute();
  await db.schema.dropIndex("thread_items_thread_seq_idx").execute();
  await db.schema.alterTable("thread_items").dropColumn("seq").execute();
}
