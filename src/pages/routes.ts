import type Router from "@koa/router";
import type { Context } from "koa";
import type { AgentConfig } from "../config/schema.ts";
import { hasOwnOrigin, isSameOriginRequest } from "../auth/origin.ts";
import { LOGIN_PATH_PREFIX } from "../auth/login-links.ts";
import { startBrowserSession } from "../auth/browser-session.ts";
import type { SignedInState } from "../auth/session.ts";
import type { LoginLinkRefusal } from "../store/index.ts";
import { webClientAssetLoader, WEBCLIENT_PATH_PREFIX } from "../webclient/assets.ts";
import { registerAdminPage } from "./admin-page.ts";
import { LOGOUT_PATH, pageUi, renderChatPage } from "./chat-page.ts";
import { registerIconRoutes } from "./app-icon.ts";
import { chatPagePolicy, MESSAGE_PAGE_POLICY } from "./csp.ts";
import { escapeHtml, newNonce } from "./html.ts";
import { loginLinkCommand } from "./message-page.ts";
import { chatPagePath, sendHtml, sendMessagePage } from "./respond.ts";
import { renderSignInPage } from "./sign-in-page.ts";
import { registerSignInRoutes, type SignInDeps } from "./sign-in-routes.ts";


/** What the pages use: the sign-in routes' needs are all of it. */
export type PageDeps = SignInDeps;

const LINK_REFUSALS: Record<LoginLinkRefusal, { status: number; title: string; text: string }> = {
  unknown: { status: 400, title: "This sign-in link is not valid", text: "The link is incomplete or was never issued by this server." },
  used: { status: 410, title: "This sign-in link was already used", text: "Each link signs in once." },
  expired: { status: 410, title: "This sign-in link has expired", text: "Links are short-lived." },
  user_disabled: { status: 403, title: "This account is disabled", text: "Ask the operator to enable it again." },
};

function sendLinkRefusal(ctx: Context, reason: LoginLinkRefusal): void {
  const refusal = LINK_REFUSALS[reason];
  sendMessagePage(ctx, refusal.status, refusal.title, [
    refusal.text,
    `Ask the operator for a new one (<code>${escapeHtml(loginLinkCommand())}</code> on the server).`,
  ]);
}

/**
 * `Sec-Fetch-Site` values of a navigation the person started themself: typed, pasted, from a
 * bookmark or another app (`none`), or from one of our own pages. Anything else (another site,
 * which could be forging a login; or no Fetch Metadata at all: link scanners, unfurl bots, curl)
 * must confirm with a same-origin POST first.
 */
const DIRECT_SIGN_IN_FETCH_SITES = new Set(["none", "same-origin"]);

/** Only a GET signs in directly; a HEAD (scanners) is answered like a request to confirm. */
function signsInDirectly(ctx: Context): boolean {
  return ctx.method === "GET" && DIRECT_SIGN_IN_FETCH_SITES.has(ctx.get("Sec-Fetch-Site"));
}

/**
 * The pages a person opens: the chat pages, the login link that signs a browser in, and sign-out.
 * They answer HTML (never the JSON errors of the API), each with its own Content-Security-Policy.
 */
export function registerPageRoutes(router: Router, deps: PageDeps): void {
  const { config, store, sessionCookie } = deps;
  const agents = new Map(config.agents.map((agent) => [agent.id, agent]));

  const webClientAssets = webClientAssetLoader();
  const signIn = registerSignInRoutes(router, deps);
  registerAdminPage(router, { auth: deps.auth, assets: webClientAssets, apiUrl: config.chatkit.apiUrl });
  registerIconRoutes(router);

  // The built-in client's bundle: public code (no data in it), named by its content hash.
  router.get(`${WEBCLIENT_PATH_PREFIX}:file`, (ctx) => {
    const asset = webClientAssets()?.byPath.get(ctx.path);
    if (!asset) {
      ctx.status = 404;
      ctx.type = "text/plain; charset=utf-8";
      ctx.body = "not found";
      return;
    }
    ctx.vary("Accept-Encoding");
    ctx.type = asset.type;
    ctx.set("Cache-Control", "public, max-age=31536000, immutable");
    ctx.set("X-Content-Type-Options", "nosniff");
    if (ctx.acceptsEncodings("gzip", "identity") === "gzip") {
      ctx.set("Content-Encoding", "gzip");
      ctx.body = asset.gzipped;
    } else {
      ctx.body = asset.body;
    }
  });

  // The front door: a signed-in person goes to their chat; anyone else learns how to sign in.
  router.get("/", async (ctx) => {
    if (await deps.auth.load(ctx)) {
      ctx.status = 302;
      ctx.redirect(chatPagePath(config.agents[0]!.id));
      return;
    }
    sendHtml(
      ctx,
      200,
      renderSignInPage(
        "chatkit-box",
        [
          "This is a self-hosted ChatKit server. This browser is not signed in.",
          "Setting up a new box? Until someone signs in, the server prints a single-use sign-in link for the first administrator when it starts: look in its output (under systemd: <code>journalctl -u chatkit</code>), or restart it for a fresh one.",
        ],
        signIn.signInOptions(),
      ),
      MESSAGE_PAGE_POLICY,
    );
  });

  const chatPage = (standalone: boolean) => async (ctx: Context) => {
    const agentId = String(ctx.params.id ?? "");
    if (!(await deps.auth.load(ctx))) {
      const options = signIn.signInOptions(agents.has(agentId) ? agentId : undefined);
      sendHtml(ctx, 401, renderSignInPage("Sign in to chat", ["This browser is not signed in (or its session has ended)."], options), MESSAGE_PAGE_POLICY);
      return;
    }
    // Every configured agent is open to every signed-in user; anything else reads as absent.
    const agent: AgentConfig | undefined = agents.get(agentId);
    if (!agent) {
      sendMessagePage(ctx, 404, "No such agent", [`There is no agent <code>${escapeHtml(agentId)}</code> on this server.`]);
      return;
    }
    const assets = webClientAssets();
    const ui = pageUi(config);
    if (ui === "builtin" && !assets) {
      sendMessagePage(ctx, 503, "The chat client is not built", [
        "This server is set to use its built-in chat client, but its files are missing.",
        "On the server, run <code>npm ci</code> (or <code>npm run build:webclient</code>) in the server's folder, then reload.",
      ]);
      return;
    }
    const nonce = newNonce();
    const state = ctx.state as SignedInState;
    const policy = chatPagePolicy({
      nonce,
      scriptUrl: ui === "builtin" ? undefined : config.chatkit.scriptUrl,
      apiUrl: config.chatkit.apiUrl,
      extraOrigins: config.pages.extraOrigins,
    });
    sendHtml(ctx, 200, renderChatPage({ config, agent, nonce, standalone, userEmail: state.user.email, assets }), policy);
  };
  router.get("/agents/:id/chatkit", chatPage(false));
  router.get("/agents/:id/chatkit_standalone", chatPage(true));

  /** Uses the link up, puts the browser in the link's user's session and redirects to the chat. */
  const signInWithLink = async (ctx: Context, token: string) => {
    ctx.set("Referrer-Policy", "no-referrer");
    const consumed = await store.loginLinks.consume(token);
    if (!consumed.ok) {
      sendLinkRefusal(ctx, consumed.reason);
      return;
    }
    // The link proved the address: the user's email-link identity is recorded (or found) now.
    const signedIn = await store.identities.signIn({ provider: "email-link", subject: consumed.user.email, email: consumed.user.email, emailVerified: true });
    if ("refused" in signedIn) {
      sendLinkRefusal(ctx, "user_disabled");
      return;
    }
    await startBrowserSession(ctx, deps, signedIn.user.id);
    deps.events.record(ctx, "sign_in", { via: "email-link", user: signedIn.user.email, ...(signedIn.created ? { created: true } : {}) });
    const agentId = consumed.link.agent_id && agents.has(consumed.link.agent_id) ? consumed.link.agent_id : config.agents[0]!.id;
    ctx.status = 303;
    ctx.redirect(chatPagePath(agentId));
  };

  /** Leaves the link unused and shows who it signs in as, with a button that confirms (POST). */
  const askToConfirmSignIn = async (ctx: Context, token: string) => {
    const usable = await store.loginLinks.check(token);
    if (!usable.ok) {
      sendLinkRefusal(ctx, usable.reason);
      return;
    }
    sendMessagePage(
      ctx,
      200,
      "Sign in?",
      [
        `This link signs this browser in as <code>${escapeHtml(usable.user.email)}</code>.`,
        "Continue only if you asked for the link yourself; it works once.",
      ],
      { action: `${LOGIN_PATH_PREFIX}${encodeURIComponent(token)}`, label: "Sign in" },
    );
  };

  router.get(`${LOGIN_PATH_PREFIX}:token`, async (ctx) => {
    const token = String(ctx.params.token ?? "");
    await (signsInDirectly(ctx) ? signInWithLink(ctx, token) : askToConfirmSignIn(ctx, token));
  });

  router.post(`${LOGIN_PATH_PREFIX}:token`, async (ctx) => {
    if (!hasOwnOrigin(ctx, deps.ownOrigins(ctx))) {
      sendMessagePage(ctx, 403, "Refused", ["This sign-in request came from another site."]);
      return;
    }
    await signInWithLink(ctx, String(ctx.params.token ?? ""));
  });

  router.post(LOGOUT_PATH, async (ctx) => {
    const signedIn = await deps.auth.load(ctx);
    if (!isSameOriginRequest(ctx, deps.ownOrigins(ctx))) {
      sendMessagePage(ctx, 403, "Refused", ["This sign-out request came from another site."]);
      return;
    }
    const session = signedIn ? (ctx.state as SignedInState).session : null;
    if (session) await store.sessions.revoke(session.id);
    sessionCookie.clear(ctx);
    const provider = await signIn.signedOut(ctx);
    const paragraphs = ["This browser is signed out of this server."];
    if (provider) paragraphs.push(`You may still be signed in at ${escapeHtml(provider.name)}: <a href="${escapeHtml(provider.url)}">sign out of ${escapeHtml(provider.name)} too</a>.`);
    sendHtml(ctx, 200, renderSignInPage("Signed out", paragraphs, signIn.signInOptions()), MESSAGE_PAGE_POLICY);
  });
}
