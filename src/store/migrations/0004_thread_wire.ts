import type { Kysely } from "kysely";
import { toIso } from "../../core/clock.ts";

// Landed migrations are never edited: add a new numbered file instead.

const BATCH = 1_000;

/**
 * A thread's wire metadata as it was shaped when this migration landed (`threadMetadataJson`
 * then), kept here so a later change of the wire shape does not change what this migration
 * writes; such a change rewrites `wire` in a migration of its own.
 */
function wireJson(row: { id: string; title: string | null; status: string; created_at: number }): string {
  const thread: Record<string, unknown> = { id: row.id, created_at: toIso(row.created_at), status: JSON.parse(row.status) as unknown, metadata: {} };
  if (row.title !== null) thread.title = row.title;
  return JSON.stringify(thread);
}

/**
 * Each thread keeps its wire metadata JSON (`wire`), written with the thread, so a thread list
 * is the stored texts spliced together instead of rows read as objects, dates formatted and
 * everything serialised again on every request. Existing threads get theirs here, in batches.
 * SQLite cannot add a NOT NULL column without a default, so the column is nullable and the
 * store always sets it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("threads").addColumn("wire", "text").execute();
  for (;;) {
    const rows: Array<{ id: string; title: string | null; status: string; created_at: number | string }> = await db
      .selectFrom("threads")
      .select(["id", "title", "status", "created_at"])
      .where("wire", "is", null)
      .limit(BATCH)
      .execute();
    if (rows.length === 0) return;
    for (const row of rows) {
      const wire = wireJson({ ...row, created_at: Number(row.created_at) });
      await db.updateTable("threads").set({ wire }).where("id", "=", row.id).execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("threads").dropColumn("wire").execute();
}
