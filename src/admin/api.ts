import type Router from "@koa/router";
import type { Context, Middleware, Next } from "koa";
import { z } from "zod";
import type { AuthEvents } from "../auth/events.ts";
import { createLoginLink } from "../auth/login-links.ts";
import { identityJson, sessionJson, userJson } from "../auth/records.ts";
import type { Authenticator, SignedInState } from "../auth/session.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { toIso } from "../core/clock.ts";
import { ChatkitError, invalidField, notFound } from "../core/errors.ts";
import type { Store, UserRow } from "../store/index.ts";

export const ADMIN_API_PREFIX = "/admin/api";

/**
 * After sign-in (`Authenticator.required()`): only an admin goes on; anyone else signed in gets
 * 403 `forbidden`. For every admin route, the API's and the admin page's.
 */
export function requireAdmin(): Middleware {
  return async function adminOnly(ctx: Context, next: Next): Promise<void> {
    if ((ctx.state as SignedInState).user?.role !== "admin") throw new ChatkitError(403, "forbidden");
    await next();
  };
}

export interface AdminApiDeps {
  config: ChatkitConfig;
  store: Store;
  auth: Authenticator;
  events: AuthEvents;
  /** The cross-site check for ambient credentials (`sameOriginForCookies`). */
  sameOriginForCookies: Middleware;
  publicBaseUrl: (ctx: Context) => string;
}

const SMALL_JSON_BYTES = 16 * 1024;

/**
 * The API's small JSON bodies (at most 16 KiB, uncompressed) checked against `schema`: 415 for
 * another content type, 413, 400 `invalid_json`, or 400 `invalid_params` naming the first bad field.
 */
export async function readSmallJson<T>(ctx: Context, schema: z.ZodType<T>): Promise<T> {
  if (!ctx.is("json", "+json")) throw new ChatkitError(415, "unsupported_content_type");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > SMALL_JSON_BYTES) throw new ChatkitError(413, "payload_too_large", { max_bytes: SMALL_JSON_BYTES });
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ChatkitError(400, "invalid_json");
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw invalidField(issue.path.map(String).join(".") || "(body)", issue.message);
}

const inviteBody = z.strictObject({ email: z.email(), agent_id: z.string().min(1).optional() });
const roleBody = z.strictObject({ role: z.enum(["admin", "user"]) });

/**
 * The admin JSON API under `/admin/api/` (admin role; the cookie from our own origin, or a
 * bearer credential): list users, invite one (a sign-in link), disable and enable, end a user's
 * sessions, set a role. Every change is one `AuthEvents` line naming the admin and the user.
 */
export function mountAdminApi(router: Router, deps: AdminApiDeps): void {
  const { store, events } = deps;
  const guard = [deps.auth.required(), deps.sameOriginForCookies, requireAdmin()];
  const admin = (ctx: Context) => (ctx.state as SignedInState).user;

  const target = async (ctx: Context): Promise<UserRow> => {
    const user = await store.users.findById(String(ctx.params.id ?? ""));
    if (!user) throw notFound("user_not_found");
    return user;
  };
  /** An admin does not disable or demote themself: the box would be left without a way in. */
  const notSelf = (ctx: Context, user: UserRow) => {
    if (user.id === admin(ctx).id) throw new ChatkitError(409, "cannot_change_self");
  };

  router.get(`${ADMIN_API_PREFIX}/users`, ...guard, async (ctx) => {
    ctx.body = { users: (await store.users.list()).map(userJson) };
  });

  router.get(`${ADMIN_API_PREFIX}/users/:id`, ...guard, async (ctx) => {
    const user = await target(ctx);
    ctx.body = {
      user: userJson(user),
      identities: (await store.identities.listFor(user.id)).map(identityJson),
      sessions: (await store.sessions.listLiveFor(user.id)).map(sessionJson),
    };
  });

  router.post(`${ADMIN_API_PREFIX}/users/invite`, ...guard, async (ctx) => {
    const body = await readSmallJson(ctx, inviteBody);
    if (body.agent_id !== undefined && !deps.config.agents.some((agent) => agent.id === body.agent_id)) throw invalidField("agent_id", "no agent with this id");
    const { user, created } = await store.users.findOrCreate(body.email);
    if (user.disabled_at !== null) throw new ChatkitError(409, "user_disabled");
    const link = await createLoginLink(store, deps.publicBaseUrl(ctx), user, {
      agentId: body.agent_id ?? null,
      ttlMs: deps.config.signIn.invitationHours * 60 * 60 * 1000,
    });
    events.record(ctx, "user_invited", { by: admin(ctx).email, user: user.email, created });
    ctx.status = created ? 201 : 200;
    ctx.body = { user: userJson(user), created, login_link: { url: link.url, expires_at: toIso(link.expiresAt) } };
  });

  for (const action of ["disable", "enable"] as const) {
    router.post(`${ADMIN_API_PREFIX}/users/:id/${action}`, ...guard, async (ctx) => {
      const user = await target(ctx);
      if (action === "disable") notSelf(ctx, user);
      const changed = (await store.users.setDisabled({ id: user.id }, action === "disable")) ?? user;
      events.record(ctx, action === "disable" ? "user_disabled" : "user_enabled", { by: admin(ctx).email, user: user.email });
      ctx.body = { user: userJson(changed) };
    });
  }

  router.post(`${ADMIN_API_PREFIX}/users/:id/revoke-sessions`, ...guard, async (ctx) => {
    const user = await target(ctx);
    const revoked = await store.sessions.revokeAllForUser(user.id);
    events.record(ctx, "sessions_revoked", { by: admin(ctx).email, user: user.email, revoked });
    ctx.body = { revoked };
  });

  router.put(`${ADMIN_API_PREFIX}/users/:id/role`, ...guard, async (ctx) => {
    const { role } = await readSmallJson(ctx, roleBody);
    const user = await target(ctx);
    if (role !== "admin") {
      notSelf(ctx, user);
      if (deps.auth.isConfiguredAdmin(user.email)) throw new ChatkitError(409, "admin_in_config");
    }
    const changed = (await store.users.setRole({ id: user.id }, role)) ?? user;
    events.record(ctx, "role_changed", { by: admin(ctx).email, user: user.email, role });
    ctx.body = { user: userJson(changed) };
  });
}
