import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import type { Owner, SessionRow, SessionStore, UserRow } from "../store/index.ts";
import type { SessionCookie } from "./session-cookie.ts";

/** What signing in puts on `ctx.state`: who the caller is and how they proved it. */
export interface SignedInState {
  user: UserRow;
  session: SessionRow;
  owner: Owner;
  /** How the caller authenticated; cookie sessions get cross-site checks. */
  authVia: "bearer" | "cookie";
}

function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get("Authorization");
  if (!header.startsWith("Bearer ")) return undefined;
  const token = header.slice("Bearer ".length).trim();
  return token || undefined;
}

/**
 * Puts the caller's session on `ctx.state` from `Authorization: Bearer <token>`, else the signed
 * `session_id` cookie (as in the seed). Returns false when neither names a live session.
 * A live cookie signed with an older key (after a key rotation) is re-issued with the current one.
 */
export async function loadSession(ctx: Context, sessions: SessionStore, sessionCookie: SessionCookie): Promise<boolean> {
  const bearer = bearerToken(ctx);
  const cookie = bearer ? undefined : sessionCookie.read(ctx);
  const token = bearer ?? cookie?.token;
  const found = token ? await sessions.authenticate(token) : undefined;
  if (!found) return false;
  if (cookie?.signedWithOlderKey) sessionCookie.reissue(ctx, cookie.token, found.session.expires_at);
  const state = ctx.state as SignedInState;
  state.user = found.user;
  state.session = found.session;
  state.owner = { userId: found.user.id, accountId: found.user.account_id };
  state.authVia = bearer ? "bearer" : "cookie";
  return true;
}

/** Requires a session (see `loadSession`). Unknown, revoked, expired or disabled: 401 unauthorized. */
export function authenticate(sessions: SessionStore, sessionCookie: SessionCookie) {
  return async function requireSession(ctx: Context, next: Next): Promise<void> {
    if (!(await loadSession(ctx, sessions, sessionCookie))) throw new ChatkitError(401, "unauthorized");
    await next();
  };
}
