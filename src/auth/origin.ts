import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import { isAmbient, type SignedInState } from "./session.ts";

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
 * Requests that change state on an ambient credential (the cookie, or the proxy's user header)
 * must come from our own origin: browsers send `Origin` on cross-site POSTs, so a foreign or
 * opaque one is refused. Bearer requests carry their credential explicitly and need no check.
 */
export function sameOriginForCookies(allowedOrigins: (ctx: Context) => string[]) {
  return async function checkOrigin(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as SignedInState;
    if (isAmbient(state.authVia) && ctx.method !== "GET" && ctx.method !== "HEAD") {
      if (!isSameOriginRequest(ctx, allowedOrigins(ctx))) throw new ChatkitError(403, "forbidden_origin");
    }
    await next();
  };
}
