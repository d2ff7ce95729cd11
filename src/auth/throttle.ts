import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import type { FailureThrottle } from "../limits/throttle.ts";
import type { SignedInState } from "./session.ts";

/** Refusals of a sign-in link that mean the secret was wrong, used or expired (not "account disabled"). */
const FAILED_LINK_STATUSES = new Set([400, 404, 410]);

/**
 * Throttles guessing, never signing in: every credential is checked first, and a valid one
 * always works, whatever other clients behind the same address did. What is counted is a failed
 * attempt per client address: a refused bearer credential (session token or app's JWT) and a
 * sign-in link that is wrong, used or expired. Once an address has failed
 * `limits.failedAuthPerMinute` times in the last minute, its further failures are answered 429
 * `too_many_failed_attempts` with `Retry-After` instead of 401 (or the link's page) until the
 * minute has passed. A stale cookie, and a wrong `/metrics` token, are not sign-in attempts and
 * are not counted.
 */
export function throttleFailedCredentials(throttle: FailureThrottle, loginPathPrefix: string, onRefusal?: () => void) {
  const refuseIfOverLimit = (ctx: Context) => {
    const wait = throttle.retryAfterSeconds(ctx.ip);
    throttle.recordFailure(ctx.ip);
    if (wait > 0) {
      onRefusal?.();
      throw new ChatkitError(429, "too_many_failed_attempts", { retry_after: wait });
    }
  };
  return async function throttleGuesses(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      if ((ctx.state as SignedInState).credentialRefused) refuseIfOverLimit(ctx);
      throw error;
    }
    if (ctx.path.startsWith(loginPathPrefix) && FAILED_LINK_STATUSES.has(ctx.status)) refuseIfOverLimit(ctx);
  };
}
