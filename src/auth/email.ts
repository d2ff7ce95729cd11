import type { Context } from "koa";
import type { Logger } from "../core/logger.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { isEmailAddress } from "../core/email-address.ts";
import { FailureThrottle } from "../limits/throttle.ts";
import type { Store, UserRow } from "../store/index.ts";
import { isAllowed } from "./allow-list.ts";
import { createLoginLink } from "./login-links.ts";
import type { Mailer } from "./mailer.ts";
import type { AuthEvents } from "./events.ts";

const HOUR_MS = 60 * 60 * 1000;

/**
 * What the person who asked is told. `accepted` is the one answer for every well-formed address,
 * whether a mail goes out or not (allowed, known, neither, or its mail quota used up), so the
 * form reveals nothing about who may sign in.
 */
export type LinkRequestAnswer =
  | { answer: "accepted" }
  /** Not one plain address (spaces, a second address, CR/LF: header injection): 400 `invalid_email`. */
  | { answer: "invalid_email" }
  /** This client asked too often (`signIn.email.requestsPerClientPerHour`): 429 `too_many_sign_in_requests`. */
  | { answer: "too_many_sign_in_requests"; retryAfterSeconds: number };

/**
 * Self-service sign-in links by mail. The answer is given at once and the mail sent afterwards,
 * so neither the answer nor its timing depends on whether a mail is sent. Bounded per client
 * address (answered 429) and per email address (silently: no further mail this hour), so the box
 * cannot be used to flood anyone's mailbox.
 */
export class EmailSignIn {
  private readonly requestsByClient: FailureThrottle;
  private readonly mailsByAddress: FailureThrottle;
  /** Mails being sent, so a test or a shutdown can wait for them. */
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly config: ChatkitConfig,
    private readonly store: Store,
    private readonly mailer: Mailer,
    private readonly events: AuthEvents,
    /** Where links point: `server.publicUrl`, else the listen address; never a request's Host, which its sender chooses. */
    private readonly linkBaseUrl: string,
  ) {
    this.requestsByClient = new FailureThrottle(config.signIn.email.requestsPerClientPerHour, HOUR_MS);
    this.mailsByAddress = new FailureThrottle(config.signIn.email.mailsPerAddressPerHour, HOUR_MS);
  }

  /**
   * Answers a request for a link from `client` (its address); a mail follows when the address
   * may sign in. The link opens `agentId`'s chat (the first agent's when left out).
   */
  request(ctx: Context, input: string, agentId?: string): LinkRequestAnswer {
    const client = ctx.ip;
    const email = input.trim().toLowerCase();
    if (!isEmailAddress(email)) {
      this.refused(ctx, "invalid_email");
      return { answer: "invalid_email" };
    }
    const wait = this.requestsByClient.retryAfterSeconds(client);
    if (wait > 0) {
      this.refused(ctx, "client_throttled", email);
      return { answer: "too_many_sign_in_requests", retryAfterSeconds: wait };
    }
    this.requestsByClient.recordFailure(client);
    // Counted for every address, allowed or not: the quota must not tell them apart either.
    if (this.mailsByAddress.retryAfterSeconds(email) > 0) {
      this.refused(ctx, "address_throttled", email);
      return { answer: "accepted" };
    }
    this.mailsByAddress.recordFailure(email);
    const sent = this.sendLink(ctx, email, agentId ?? null).finally(() => this.sending.delete(sent));
    this.sending.add(sent);
    return { answer: "accepted" };
  }

  /** Resolves when every mail asked for so far has been sent (or has failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  private refused(ctx: Context, reason: string, email?: string): void {
    this.events.record(ctx, "sign_in_failed", { via: "email-link", reason, ...(email ? { user: email } : {}) });
  }

  private async sendLink(ctx: Context, email: string, agentId: string | null): Promise<void> {
    try {
      const user = await this.userWhoMaySignIn(email);
      if (!user) {
        this.refused(ctx, "not_allowed", email);
        return;
      }
      const minutes = this.config.signIn.linkMinutes;
      const { url } = await createLoginLink(this.store, this.linkBaseUrl, user, { agentId, ttlMs: minutes * 60_000 });
      await this.mailer.sendSignInMail({ to: email, url, minutes, kind: "link" });
      this.events.record(ctx, "sign_in_link_sent", { via: "email-link", user: email });
    } catch (error) {
      (ctx.state as { log: Logger }).log.error(`sending a sign-in link to ${email} failed`, error);
    }
  }

  /**
   * An existing, enabled user (invited, or created by the operator); else, for an address on
   * `signIn.email.allow`, a new user: the account exists from its first link on.
   */
  private async userWhoMaySignIn(email: string): Promise<UserRow | undefined> {
    const existing = await this.store.users.findByEmail(email);
    if (existing) return existing.disabled_at === null ? existing : undefined;
    if (!isAllowed(email, this.config.signIn.email.allow)) return undefined;
    return (await this.store.users.findOrCreate(email)).user;
  }
}
