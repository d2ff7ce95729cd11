import type { Kysely } from "kysely";

// Landed migrations are never edited: add a new numbered file instead.

/**
 * One identity model: a user has a role, and any number of identities, the ways they sign in
 * (`email-link`, `oidc:<issuer>`, `jwt:<issuer>`, `proxy`), each found by its provider's subject.
 * Existing users become ordinary users; their sessions and login links are untouched, and an
 * identity is linked to them by email the first time they sign in a new way.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("users").addColumn("role", "text", (c) => c.notNull().defaultTo("user")).execute();
  await db.schema
    .createTable("identities")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("email", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_used_at", "bigint")
    .addUniqueConstraint("identities_provider_subject_key", ["provider", "subject"])
    .execute();
  await db.schema.createIndex("identities_user_idx").on("identities").column("user_id").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("identities").execute();
  await db.schema.alterTable("users").dropColumn("role").execute();
}
