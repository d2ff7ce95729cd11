import type { Logger } from "../core/logger.ts";

/** One sign-in attempt's outcome, as its log line names it. */
export interface SignInEvent {
  /** `email-link`, `oidc:<provider id>`, ... */
  method: string;
  outcome: "signed_in" | "link_sent" | "refused";
  /** Why it was refused (a stable word, e.g. `state_mismatch`, `not_allowed`). */
  reason?: string;
  email?: string;
  userId?: string;
  /** What the failing check said (for the operator only, never the client). */
  detail?: string;
}

/**
 * Logs a sign-in, a sent link or a refusal as one line of `key=value` fields on the request's
 * logger (so it names the request id). The client is only ever told that sign-in failed.
 */
export function logSignIn(log: Logger, event: SignInEvent): void {
  const fields = Object.entries(event)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${/^[\w.:@+-]+$/.test(String(value)) ? value : JSON.stringify(value)}`);
  log.info(`sign-in ${fields.join(" ")}`);
}
