import type { Context, Next } from "koa";
import type { ChatkitConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { Owner, SessionRow, SignInClaim, Store, UserRow } from "../store/index.ts";
import type { AuthEvents } from "./events.ts";
import { looksLikeJwt, type JwtVerifier } from "./jwt.ts";
import type { SessionCookie } from "./session-cookie.ts";
import type { TrustedProxies } from "./trusted-proxies.ts";

/**
 * How the caller proved who they are. `cookie` and `proxy` are ambient (a browser sends them
 * on its own, also on a request another site makes it send), so they get cross-site checks;
 * `bearer` (a session token) and `jwt` (an app's token) are written by the client on purpose.
 */
export type AuthVia = "bearer" | "jwt" | "cookie" | "proxy";

/** What signing in puts on `ctx.state`: who the caller is and how they proved it. */
export interface SignedInState {
  user: UserRow;
  /** The session the caller holds (a bearer token or the cookie); null for an app's token or the proxy header. */
  session: SessionRow | null;
  owner: Owner;
  authVia: AuthVia;
  /** Set when a bearer credential was presented and refused: the failed-guess throttle counts these. */
  credentialRefused?: boolean;
}

export function isAmbient(via: AuthVia): boolean {
  return via === "cookie" || via === "proxy";
}

function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get("Authorization");
  if (!header.startsWith("Bearer ")) return undefined;
  const token = header.slice("Bearer ".length).trim();
  return token || undefined;
}

export interface AuthenticatorDeps {
  config: ChatkitConfig;
  store: Store;
  sessionCookie: SessionCookie;
  jwt: JwtVerifier;
  proxies: TrustedProxies;
  events: AuthEvents;
}

/**
 * Finds who a request comes from, by the first of: `Authorization: Bearer` with an app's JWT
 * (`signIn.jwt`) or a session token; the proxy's user header (`signIn.proxy.header`, only on a
 * connection from `server.trustProxy`); the signed `session_id` cookie. A disabled user is
 * nobody, whichever way they come. Addresses in `admins` get the admin role on the way in.
 */
export class Authenticator {
  private readonly admins: Set<string>;
  private readonly proxyHeader: string | undefined;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.admins = new Set(deps.config.admins);
    this.proxyHeader = deps.config.signIn.proxy?.header;
  }

  /** Puts the caller on `ctx.state` (see `SignedInState`); false when nobody is signed in. */
  async load(ctx: Context): Promise<boolean> {
    const state = ctx.state as SignedInState;
    const bearer = bearerToken(ctx);
    if (bearer !== undefined) {
      const found = looksLikeJwt(bearer) && this.deps.jwt.enabled ? await this.withJwt(ctx, bearer) : await this.withSessionToken(ctx, bearer);
      if (!found) state.credentialRefused = true;
      return found;
    }
    const proxied = this.proxyHeader ? ctx.get(this.proxyHeader) : "";
    if (proxied !== "") {
      if (this.deps.proxies.fromProxy(ctx)) return this.withProxyHeader(ctx, proxied);
      this.deps.events.record(ctx, "sign_in_failed", { via: "proxy", reason: "untrusted_peer" });
    }
    const cookie = this.deps.sessionCookie.read(ctx);
    if (!cookie) return false;
    const found = await this.deps.store.sessions.authenticate(cookie.token);
    if (!found) return false;
    if (cookie.signedWithOlderKey) this.deps.sessionCookie.reissue(ctx, cookie.token, found.session.expires_at);
    return this.signedIn(ctx, found.user, found.session, "cookie");
  }

  /** Middleware: requires someone signed in (see `load`); else 401 `unauthorized`. */
  required() {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (!(await this.load(ctx))) throw new ChatkitError(401, "unauthorized");
      await next();
    };
  }

  private async withSessionToken(ctx: Context, token: string): Promise<boolean> {
    const found = await this.deps.store.sessions.authenticate(token);
    if (!found) {
      this.deps.events.record(ctx, "sign_in_failed", { via: "bearer", reason: "unknown_token" });
      return false;
    }
    return this.signedIn(ctx, found.user, found.session, "bearer");
  }

  private async withJwt(ctx: Context, token: string): Promise<boolean> {
    const check = await this.deps.jwt.verify(token);
    if (!check.ok) {
      this.deps.events.record(ctx, "sign_in_failed", { via: "jwt", reason: check.reason });
      return false;
    }
    const { issuer, subject, email, emailVerified } = check.token;
    return this.withIdentity(ctx, "jwt", { provider: `jwt:${issuer}`, subject, email, emailVerified });
  }

  private async withProxyHeader(ctx: Context, email: string): Promise<boolean> {
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
      this.deps.events.record(ctx, "sign_in_failed", { via: "proxy", reason: "not_an_email" });
      return false;
    }
    const address = email.trim().toLowerCase();
    return this.withIdentity(ctx, "proxy", { provider: "proxy", subject: address, email: address, emailVerified: true });
  }

  private async withIdentity(ctx: Context, via: "jwt" | "proxy", claim: SignInClaim): Promise<boolean> {
    const result = await this.deps.store.identities.signIn(claim);
    if ("refused" in result) {
      this.deps.events.record(ctx, "sign_in_failed", { via, provider: claim.provider, subject: claim.subject, reason: result.refused });
      return false;
    }
    if (result.created) this.deps.events.record(ctx, "sign_in", { via, provider: claim.provider, user: result.user.email, created: true });
    return this.signedIn(ctx, result.user, null, via);
  }

  private async signedIn(ctx: Context, found: UserRow, session: SessionRow | null, via: AuthVia): Promise<true> {
    const user = await this.withConfiguredRole(ctx, found);
    const state = ctx.state as SignedInState;
    state.user = user;
    state.session = session;
    state.owner = { userId: user.id, accountId: user.account_id };
    state.authVia = via;
    return true;
  }

  /** An address in `admins` is made an admin the first time it comes in. */
  private async withConfiguredRole(ctx: Context, user: UserRow): Promise<UserRow> {
    if (user.role === "admin" || !this.admins.has(user.email)) return user;
    const promoted = await this.deps.store.users.setRole({ id: user.id }, "admin");
    this.deps.events.record(ctx, "role_changed", { user: user.email, role: "admin", by: "config" });
    return promoted ?? user;
  }

  /** Whether an address is an admin by the config (its role cannot be taken away through the API). */
  isConfiguredAdmin(email: string): boolean {
    return this.admins.has(email);
  }
}
