import { parse as parseQuery } from "node:querystring";
import type { Context, Next } from "koa";
import type { AgentConfig } from "../config/schema.ts";
import type { SessionStore } from "../store/index.ts";
import { ChatkitError } from "../core/errors.ts";
import type { FailureThrottle } from "../limits/throttle.ts";
import type { SessionCookie } from "./session-cookie.ts";
import type { AppState } from "./state.ts";

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
  const state = ctx.state as AppState;
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

/** Whether the request comes from one of our origins, judged by `Origin`, else `Sec-Fetch-Site`. */
export function isSameOriginRequest(ctx: Context, allowedOrigins: string[]): boolean {
  const origin = ctx.get("Origin");
  return origin ? allowedOrigins.includes(origin) : ctx.get("Sec-Fetch-Site") !== "cross-site";
}

/** Stricter than `isSameOriginRequest`: `Origin` must be present and one of ours. */
export function hasOwnOrigin(ctx: Context, allowedOrigins: string[]): boolean {
  return allowedOrigins.includes(ctx.get("Origin"));
}

/**
 * Cookie-authenticated requests that change state must come from our own origin: browsers send
 * `Origin` on cross-site POSTs, so a foreign or opaque one is refused. Bearer requests carry
 * their credential explicitly and need no check.
 */
export function sameOriginForCookies(allowedOrigins: (ctx: Context) => string[]) {
  return async function checkOrigin(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as AppState;
    if (state.authVia === "cookie" && ctx.method !== "GET" && ctx.method !== "HEAD") {
      if (!isSameOriginRequest(ctx, allowedOrigins(ctx))) throw new ChatkitError(403, "forbidden_origin");
    }
    await next();
  };
}

/**
 * Resolves `?agent_id=` against the configured agents onto `ctx.state.agent`. The query is read
 * with node:querystring: Koa's `ctx.query` builds a URLSearchParams and defines each key as a
 * property, a few per cent of a whole list request, for the one value every request reads.
 */
export function resolveAgent(agents: readonly AgentConfig[]) {
  const byId = new Map(agents.map((agent) => [agent.id, agent]));
  return async function agentFromQuery(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as AppState;
    const query = ctx.querystring;
    const value = query ? parseQuery(query).agent_id : undefined;
    const requested = typeof value === "string" ? value : undefined;
    if (requested) {
      state.requestedAgentId = requested;
      const agent = byId.get(requested);
      if (agent) state.agent = agent;
    }
    await next();
  };
}

/** Where a guessed credential is tried: a bearer token anywhere, a sign-in link's secret in its path. */
function presentsGuessableCredential(ctx: Context, loginPathPrefix: string): boolean {
  return ctx.get("Authorization").startsWith("Bearer ") || ctx.path.startsWith(loginPathPrefix);
}

/** Refusals of a sign-in link that mean the secret was wrong, used or expired (not "account disabled"). */
const FAILED_LINK_STATUSES = new Set([400, 404, 410]);

/**
 * Throttles guessing: a client (by address) whose bearer tokens or sign-in links failed
 * `limits.failedAuthPerMinute` times in the last minute gets 429 `too_many_failed_attempts` with
 * `Retry-After` for every further credential it presents, until the minute has passed. Session
 * cookies are signed by us, so a forged one cannot be guessed and is not counted: a browser with a
 * stale cookie is never locked out.
 */
export function throttleFailedCredentials(throttle: FailureThrottle, loginPathPrefix: string, onRefusal?: () => void) {
  return async function throttleGuesses(ctx: Context, next: Next): Promise<void> {
    if (!presentsGuessableCredential(ctx, loginPathPrefix)) return next();
    const wait = throttle.retryAfterSeconds(ctx.ip);
    if (wait > 0) {
      onRefusal?.();
      throw new ChatkitError(429, "too_many_failed_attempts", { retry_after: wait });
    }
    const isLoginLink = ctx.path.startsWith(loginPathPrefix);
    try {
      await next();
    } catch (error) {
      if (!isLoginLink && (error as { status?: number }).status === 401) throttle.recordFailure(ctx.ip);
      throw error;
    }
    if (isLoginLink && FAILED_LINK_STATUSES.has(ctx.status)) throttle.recordFailure(ctx.ip);
  };
}
