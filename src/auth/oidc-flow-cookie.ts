import type Keygrip from "keygrip";
import type { Context } from "koa";
import type { ChatkitConfig } from "../config/schema.ts";
import type { OidcFlow } from "./oidc.ts";
import { markSecureWhenHttps } from "./session-cookie.ts";

const FLOW_COOKIE = "oidc_flow";
/** Minutes a person has at the provider between the button and the callback. */
export const OIDC_FLOW_MINUTES = 10;

/** The paths of one provider's routes: its start and its callback (the redirect URI to register). */
export function oidcPaths(providerId: string): { prefix: string; start: string; callback: string } {
  const prefix = `/auth/oidc/${encodeURIComponent(providerId)}/`;
  return { prefix, start: `${prefix}start`, callback: `${prefix}callback` };
}

/**
 * The state, nonce and PKCE verifier of a sign-in in progress, in a short-lived cookie signed
 * with the cookie keys (the value carries its own signature and expiry, so an old copy replayed
 * after it expired is refused too). Scoped to the provider's path, HttpOnly, SameSite=Lax (the
 * provider's redirect back is a top-level GET, which Lax lets through).
 */
export class OidcFlowCookie {
  constructor(
    private readonly config: ChatkitConfig,
    private readonly keys: Keygrip,
    private readonly now: () => number = Date.now,
  ) {}

  set(ctx: Context, flow: OidcFlow): void {
    const payload = Buffer.from(JSON.stringify({ ...flow, expiresAt: this.now() + OIDC_FLOW_MINUTES * 60_000 })).toString("base64url");
    this.write(ctx, flow.provider, `${payload}.${this.keys.sign(`${FLOW_COOKIE}=${payload}`)}`, OIDC_FLOW_MINUTES * 60_000);
  }

  /** The flow this browser started with the provider, if its cookie is there, correctly signed and unexpired. */
  read(ctx: Context, providerId: string): OidcFlow | undefined {
    const value = ctx.cookies.get(FLOW_COOKIE, { signed: false });
    const dot = value?.lastIndexOf(".") ?? -1;
    if (!value || dot < 0) return undefined;
    const payload = value.slice(0, dot);
    if (this.keys.index(`${FLOW_COOKIE}=${payload}`, value.slice(dot + 1)) < 0) return undefined;
    let parsed: Partial<OidcFlow & { expiresAt: number }>;
    try {
      parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
    const { provider, state, nonce, verifier, agentId, expiresAt } = parsed;
    if (provider !== providerId || typeof state !== "string" || typeof nonce !== "string" || typeof verifier !== "string") return undefined;
    if (typeof expiresAt !== "number" || expiresAt <= this.now()) return undefined;
    return { provider, state, nonce, verifier, ...(typeof agentId === "string" ? { agentId } : {}) };
  }

  /** Ends the flow: a callback is answered once, whatever its outcome. */
  clear(ctx: Context, providerId: string): void {
    this.write(ctx, providerId, null, undefined);
  }

  private write(ctx: Context, providerId: string, value: string | null, maxAgeMs: number | undefined): void {
    ctx.cookies.set(FLOW_COOKIE, value, {
      signed: false,
      httpOnly: true,
      sameSite: "lax",
      secure: markSecureWhenHttps(ctx, this.config),
      path: oidcPaths(providerId).prefix,
      ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }),
      overwrite: true,
    });
  }
}
