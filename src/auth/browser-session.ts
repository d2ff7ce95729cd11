import type { Context } from "koa";
import type { ChatkitConfig } from "../config/schema.ts";
import type { Store } from "../store/index.ts";
import type { SessionCookie } from "./session-cookie.ts";
import type { Authenticator, SignedInState } from "./session.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Signs this browser in as the user (after a login link or a provider vouched for them): a new
 * session of `signIn.sessionDays` in the session cookie. The session the browser held before, if
 * any (someone else's, or its own), is revoked: a sign-in never keeps an old cookie's session.
 */
export async function startBrowserSession(
  ctx: Context,
  deps: { config: ChatkitConfig; store: Store; sessionCookie: SessionCookie; auth: Authenticator },
  userId: string,
): Promise<void> {
  const { config, store, sessionCookie } = deps;
  const state = ctx.state as SignedInState;
  const previous = (await deps.auth.load(ctx)) ? state.session : null;
  if (previous && state.authVia === "cookie") await store.sessions.revoke(previous.id);
  const session = await store.sessions.create(userId, config.signIn.sessionDays);
  sessionCookie.set(ctx, session.token, config.signIn.sessionDays * DAY_MS);
}
