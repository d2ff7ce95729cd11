import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import type { FailureThrottle } from "../limits/throttle.ts";

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
