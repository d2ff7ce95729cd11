import { toIso } from "../core/clock.ts";
import type { IdentityRow, SessionRow, UserRow } from "../store/index.ts";

// Users, sessions and identities as the admin and account APIs answer them: times as ISO strings.

const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

/** A user as the APIs show one. */
export function userJson(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    disabled: user.disabled_at !== null,
    created_at: toIso(user.created_at),
    disabled_at: iso(user.disabled_at),
  };
}

export function sessionJson(session: SessionRow) {
  return { id: session.id, created_at: toIso(session.created_at), last_used_at: iso(session.last_used_at), expires_at: iso(session.expires_at) };
}

export function identityJson(identity: IdentityRow) {
  return { provider: identity.provider, subject: identity.subject, email: identity.email, created_at: toIso(identity.created_at), last_used_at: iso(identity.last_used_at) };
}
