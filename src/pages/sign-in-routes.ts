import type Router from "@koa/router";
import type { Context } from "koa";
import { isAllowed } from "../auth/allow-list.ts";
import { startBrowserSession } from "../auth/browser-session.ts";
import type { EmailSignIn } from "../auth/email.ts";
import { oidcPaths, type OidcFlowCookie } from "../auth/oidc-flow-cookie.ts";
import type { OidcIdentity, OidcProviders } from "../auth/oidc.ts";
import { isSameOriginRequest } from "../auth/origin.ts";
import type { AuthEvents } from "../auth/events.ts";
import { markSecureWhenHttps, type SessionCookie } from "../auth/session-cookie.ts";
import type { Authenticator } from "../auth/session.ts";
import type { ChatkitConfig, OidcProviderConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import { errorMessage } from "../core/locale.ts";
import { readSmallBody } from "../core/small-body.ts";
import type { Store, UserRow } from "../store/index.ts";
import { MESSAGE_PAGE_POLICY } from "./csp.ts";
import { escapeHtml } from "./html.ts";
import { chatPagePath, sendHtml, sendMessagePage } from "./respond.ts";
import { EMAIL_SIGN_IN_PATH, renderSignInPage, type SignInOptions } from "./sign-in-page.ts";

/** The cookie naming the provider a browser signed in with, so sign-out can offer the provider's own. */
const PROVIDER_COOKIE = "signed_in_with";
const FORM_MAX_BYTES = 4096;

export interface SignInDeps {
  config: ChatkitConfig;
  store: Store;
  sessionCookie: SessionCookie;
  auth: Authenticator;
  events: AuthEvents;
  ownOrigins: (ctx: Context) => string[];
  /** Our own base URL as the browser reaches it (`server.publicUrl`, else the request's origin). */
  publicBaseUrl: (ctx: Context) => string;
  /** Undefined when no SMTP server is configured. */
  emailSignIn: EmailSignIn | undefined;
  oidc: OidcProviders;
  oidcFlowCookie: OidcFlowCookie;
}

const requestIdOf = (ctx: Context) => (ctx.state as { requestId: string }).requestId;

/**
 * Self-service sign-in: the email form's `POST /auth/email`, and per OpenID Connect provider
 * `GET /auth/oidc/<id>/start` (the button) and `GET /auth/oidc/<id>/callback` (the redirect URI).
 * Returns what the signed-out page offers, and `signedOut`, which ends a provider sign-in's
 * cookie and finds the provider's own sign-out URL.
 */
export function registerSignInRoutes(router: Router, deps: SignInDeps) {
  const { config, store, emailSignIn, oidc, oidcFlowCookie } = deps;
  const agents = new Set(config.agents.map((agent) => agent.id));
  const agentFrom = (ctx: Context): string | undefined => {
    const agent = ctx.query.agent;
    return typeof agent === "string" && agents.has(agent) ? agent : undefined;
  };
  const redirectUri = (ctx: Context, providerId: string) => `${deps.publicBaseUrl(ctx)}${oidcPaths(providerId).callback}`;

  const signInOptions = (agentId?: string): SignInOptions => ({ email: emailSignIn !== undefined, providers: oidc.list(), ...(agentId ? { agentId } : {}) });

  /** A refusal of a sign-in: the page (or JSON for an API caller) says only that it failed, with the request id to quote. */
  const refuse = (ctx: Context, status: number, key: string, title: string, details: Record<string, unknown> = {}) => {
    if (ctx.accepts("html", "json") === "json") throw new ChatkitError(status, key, details);
    sendHtml(
      ctx,
      status,
      renderSignInPage(title, [escapeHtml(errorMessage(key)), `Reference: <code>${escapeHtml(requestIdOf(ctx))}</code>`], signInOptions(agentFrom(ctx))),
      MESSAGE_PAGE_POLICY,
    );
  };

  router.post(EMAIL_SIGN_IN_PATH, async (ctx) => {
    if (!emailSignIn) throw new ChatkitError(404, "not_found");
    if (!isSameOriginRequest(ctx, deps.ownOrigins(ctx))) throw new ChatkitError(403, "forbidden_origin");
    const email = await emailFromBody(ctx);
    const answer = emailSignIn.request(ctx, email, agentFrom(ctx));
    if (answer.answer === "invalid_email") return refuse(ctx, 400, "invalid_email", "That is not an email address");
    if (answer.answer === "too_many_sign_in_requests") {
      ctx.set("Retry-After", String(answer.retryAfterSeconds));
      return refuse(ctx, 429, answer.answer, "Too many sign-in links asked for", { retry_after: answer.retryAfterSeconds });
    }
    if (ctx.accepts("html", "json") === "json") {
      ctx.status = 202;
      ctx.body = { ok: true };
      return;
    }
    sendMessagePage(ctx, 200, "Check your mail", [
      `If <code>${escapeHtml(email.trim().toLowerCase())}</code> may sign in here, a sign-in link is on its way to it.`,
      `The link works once, within ${config.signIn.linkMinutes} minutes. Nothing arrived? Check the spam folder, or ask the operator.`,
    ]);
  });

  router.get("/auth/oidc/:id/start", async (ctx) => {
    const provider = oidc.settings(String(ctx.params.id));
    if (!provider) throw new ChatkitError(404, "not_found");
    try {
      const { url, flow } = await oidc.start(provider.id, redirectUri(ctx, provider.id), agentFrom(ctx));
      oidcFlowCookie.set(ctx, flow);
      ctx.set("Referrer-Policy", "no-referrer");
      ctx.status = 303;
      ctx.redirect(url);
    } catch (error) {
      deps.events.record(ctx, "sign_in_failed", { via: "oidc", provider: provider.id, reason: "provider_unavailable", detail: (error as Error).message });
      refuse(ctx, 503, "sign_in_unavailable", `${provider.name} cannot be reached`);
    }
  });

  router.get("/auth/oidc/:id/callback", async (ctx) => {
    const provider = oidc.settings(String(ctx.params.id));
    if (!provider) throw new ChatkitError(404, "not_found");
    ctx.set("Referrer-Policy", "no-referrer");
    const flow = oidcFlowCookie.read(ctx, provider.id);
    // One callback per start, whatever its outcome.
    oidcFlowCookie.clear(ctx, provider.id);
    const result = await oidc.finish(provider.id, redirectUri(ctx, provider.id), ctx.querystring, flow);
    if (!result.ok) {
      deps.events.record(ctx, "sign_in_failed", { via: "oidc", provider: provider.id, reason: result.reason, detail: result.detail });
      if (result.reason === "provider_unavailable") return refuse(ctx, 503, "sign_in_unavailable", `${provider.name} cannot be reached`);
      return refuse(ctx, 400, "sign_in_failed", "Sign-in failed");
    }
    const { identity } = result;
    const user = await admitted(ctx, provider, identity);
    if (!user) return refuse(ctx, 403, "sign_in_failed", "Sign-in failed");
    await startBrowserSession(ctx, deps, user.id);
    const secure = markSecureWhenHttps(ctx, config);
    ctx.cookies.set(PROVIDER_COOKIE, provider.id, { httpOnly: true, sameSite: "lax", secure, path: "/", maxAge: config.signIn.sessionDays * 86_400_000, overwrite: true });
    ctx.status = 303;
    ctx.redirect(chatPagePath(flow?.agentId && agents.has(flow.agentId) ? flow.agentId : config.agents[0]!.id));
  });

  /**
   * The user this verified identity signs in as, if it may: its email on the provider's
   * allow-list, or already a user's (invited or created by the operator). Logs the outcome.
   */
  const admitted = async (ctx: Context, provider: OidcProviderConfig, identity: OidcIdentity): Promise<UserRow | undefined> => {
    const refused = (reason: string) => deps.events.record(ctx, "sign_in_failed", { via: "oidc", provider: provider.id, reason, user: identity.email });
    const known = isAllowed(identity.email, provider.allow) || (await store.users.findByEmail(identity.email)) !== undefined;
    if (!known) {
      refused("not_allowed");
      return undefined;
    }
    const signedIn = await store.identities.signIn({ provider: `oidc:${identity.issuer}`, subject: identity.subject, email: identity.email, emailVerified: true });
    if ("refused" in signedIn) {
      refused(signedIn.refused);
      return undefined;
    }
    deps.events.record(ctx, "sign_in", { via: "oidc", provider: provider.id, user: signedIn.user.email, ...(signedIn.created ? { created: true } : {}) });
    return signedIn.user;
  };

  return {
    signInOptions,
    /** Forgets which provider signed this browser in; returns that provider's sign-out URL and name, when it has one. */
    async signedOut(ctx: Context): Promise<{ url: string; name: string } | undefined> {
      const providerId = ctx.cookies.get(PROVIDER_COOKIE);
      if (!providerId) return undefined;
      ctx.cookies.set(PROVIDER_COOKIE, null, { path: "/", overwrite: true });
      const provider = oidc.settings(providerId);
      const url = provider && (await oidc.endSessionUrl(provider.id));
      return provider && url ? { url, name: provider.name } : undefined;
    },
  };
}

/** The `email` field of a small form post (`application/x-www-form-urlencoded`) or JSON body. */
async function emailFromBody(ctx: Context): Promise<string> {
  const text = await readSmallBody(ctx.req, FORM_MAX_BYTES);
  if (ctx.is("application/json")) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ChatkitError(400, "invalid_json");
    }
    const email = (body as { email?: unknown } | null)?.email;
    return typeof email === "string" ? email : "";
  }
  return new URLSearchParams(text).get("email") ?? "";
}
