import type Router from "@koa/router";
import type { Context, Middleware } from "koa";
import type { AuthEvents } from "../auth/events.ts";
import { sessionJson, userJson } from "../auth/records.ts";
import type { Authenticator, SignedInState } from "../auth/session.ts";
import type { Store } from "../store/index.ts";

export const ACCOUNT_API_PREFIX = "/account/api";

export interface AccountApiDeps {
  store: Store;
  auth: Authenticator;
  events: AuthEvents;
  sameOriginForCookies: Middleware;
}

/**
 * A signed-in user's own account, as JSON: who they are and how they sign in, their live
 * sessions (the one in use marked `current`), and signing out every other session.
 */
export function mountAccountApi(router: Router, deps: AccountApiDeps): void {
  const { store } = deps;
  const guard = [deps.auth.required(), deps.sameOriginForCookies];
  const signedIn = (ctx: Context) => ctx.state as SignedInState;

  router.get(`${ACCOUNT_API_PREFIX}/me`, ...guard, async (ctx) => {
    const { user } = signedIn(ctx);
    const identities = await store.identities.listFor(user.id);
    ctx.body = { user: userJson(user), identities: identities.map((identity) => ({ provider: identity.provider, email: identity.email })) };
  });

  router.get(`${ACCOUNT_API_PREFIX}/sessions`, ...guard, async (ctx) => {
    const { user, session } = signedIn(ctx);
    const sessions = await store.sessions.listLiveFor(user.id);
    ctx.body = { sessions: sessions.map((row) => ({ ...sessionJson(row), current: row.id === session?.id })) };
  });

  router.post(`${ACCOUNT_API_PREFIX}/sessions/revoke-others`, ...guard, async (ctx) => {
    const { user, session } = signedIn(ctx);
    const revoked = await store.sessions.revokeAllForUser(user.id, session ? { except: session.id } : {});
    deps.events.record(ctx, "sessions_revoked", { by: user.email, user: user.email, revoked });
    ctx.body = { revoked };
  });
}
