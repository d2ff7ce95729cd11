import type Keygrip from "keygrip";
import type { Context } from "koa";
import type { ChatkitConfig } from "../config/schema.ts";

export const SESSION_COOKIE = "session_id";
const SIGNATURE_COOKIE = `${SESSION_COOKIE}.sig`;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The signed `session_id` cookie (keygrip: the value plus a `session_id.sig` signature).
 * We verify signatures ourselves rather than through `cookies`' `signed: true` read, because on a
 * match with an older key that library re-issues only the signature, with default attributes (no
 * expiry, SameSite or Secure), turning a sign-in into a browser-session cookie.
 */
export class SessionCookie {
  constructor(
    private readonly config: ChatkitConfig,
    private readonly keys: Keygrip,
  ) {}

  /** The token in a correctly signed cookie, and whether an older key signed it; else undefined. */
  read(ctx: Context): { token: string; signedWithOlderKey: boolean } | undefined {
    const token = ctx.cookies.get(SESSION_COOKIE, { signed: false });
    const signature = ctx.cookies.get(SIGNATURE_COOKIE, { signed: false });
    if (!token || !signature) return undefined;
    const keyIndex = this.keys.index(`${SESSION_COOKIE}=${token}`, signature);
    if (keyIndex < 0) return undefined;
    return { token, signedWithOlderKey: keyIndex > 0 };
  }

  /**
   * Sets the cookie (signed with the current key) for `maxAgeMs`: HttpOnly, SameSite=Lax, and
   * Secure when the page is served over https (directly, or per `server.publicUrl` behind a proxy).
   */
  set(ctx: Context, token: string, maxAgeMs: number): void {
    this.write(ctx, token, maxAgeMs);
  }

  /** Sets the cookie again, signed with the current key, for the rest of the session's life. */
  reissue(ctx: Context, token: string, sessionExpiresAt: number | null): void {
    // A session without an end (minted for an API client) gets a sign-in's usual lifetime.
    const remainingMs = sessionExpiresAt === null ? this.config.signIn.sessionDays * DAY_MS : sessionExpiresAt - Date.now();
    this.write(ctx, token, remainingMs);
  }

  clear(ctx: Context): void {
    this.write(ctx, null, undefined);
  }

  private write(ctx: Context, token: string | null, maxAgeMs: number | undefined): void {
    const secure = ctx.secure || this.config.server.publicUrl?.startsWith("https:") === true;
    // Behind a TLS proxy that is not trusted for X-Forwarded-Proto, Koa thinks the link is plain http.
    if (secure) ctx.cookies.secure = true;
    ctx.cookies.set(SESSION_COOKIE, token, {
      signed: true,
      httpOnly: true,
      sameSite: "lax",
      secure,
      path: "/",
      ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }),
      overwrite: true,
    });
  }
}
