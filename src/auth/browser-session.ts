import type { Context } from "koa";
import type { ChatkitConfig } from "../config/schema.ts";
import type { SessionStore } from "../store/index.ts";
import type { SessionCookie } from "./session-cookie.ts";
import { loadSession, type SignedInState } from "./session.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Signs this browser in as the user (after a login link or a provider vouched for them): a new
 * session of `signIn.sessionDays` in the session cookie. The session the browser held before, if
 * any (someone else's, or its own), is revoked: a sign-in never keeps an old cookie's session.
 */
export async function startBrowserSession(
  ctx: Context,
  deps: { config: ChatkitConfig; sessions: SessionStore; sessionCookie: SessionCookie },
  userId: string,
): Promise<void> {
  const { config, sessions, sessionCookie } = deps;
  if ((await loadSession(ctx, sessions, sessionCookie)) && (ctx.state as SignedInState).authVia === "cookie") {
    await sessions.revoke((ctx.state as SignedInState).session.id);
  }
  const session = await sessions.create(userId, config.signIn.sessionDays);
  sessionCookie.set(ctx, session.token, config.signIn.sessionDays * DAY_MS);
}
