import type { Context } from "koa";
import type { LogFields, Logger } from "../core/logger.ts";
import type { Metrics } from "../metrics/index.ts";

/**
 * What happens to who may get in: each is one log line (with the request's id) and a count in
 * `chatkit_auth_events_total{event}`. `sign_in` is a session begun (a link, a provider), or an
 * app's token or the proxy header bringing a user the box did not know yet.
 */
export type AuthEvent =
  | "sign_in"
  | "sign_in_failed"
  | "sign_out"
  | "user_invited"
  | "user_disabled"
  | "user_enabled"
  | "role_changed"
  | "sessions_revoked";

/** Records auth events: the log line and the counter. Shared by sign-in, the account and admin APIs, and the pages. */
export class AuthEvents {
  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  record(ctx: Context | undefined, event: AuthEvent, fields: LogFields = {}): void {
    this.metrics.authEvents.inc({ event });
    const log = (ctx?.state as { log?: Logger } | undefined)?.log ?? this.logger;
    log.info(`auth ${event}`, { event, ...(ctx ? { ip: ctx.ip } : {}), ...fields });
  }
}
