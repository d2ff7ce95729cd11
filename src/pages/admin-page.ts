import type Router from "@koa/router";
import type { Context } from "koa";
import type { Authenticator, SignedInState } from "../auth/session.ts";
import type { WebClientAssets } from "../webclient/assets.ts";
import { chatPagePolicy } from "./csp.ts";
import { escapeHtml, htmlDocument, newNonce } from "./html.ts";
import { renderMessagePage } from "./message-page.ts";
import { MESSAGE_PAGE_POLICY } from "./csp.ts";

export const ADMIN_PAGE_PATH = "/admin";

function message(ctx: Context, status: number, title: string, text: string): void {
  ctx.status = status;
  ctx.type = "text/html; charset=utf-8";
  ctx.set("Content-Security-Policy", MESSAGE_PAGE_POLICY);
  ctx.set("Cache-Control", "no-store");
  ctx.body = renderMessagePage(title, [text]);
}

/**
 * `GET /admin`: the admin page, for the admin role only (anyone else signed in gets a 403 page,
 * nobody signed in a 401 page). Its bundle comes from our own origin under the chat pages' policy
 * with no script URL: nothing may load from anywhere else. Everything it shows and does goes
 * through `/admin/api/`.
 */
export function registerAdminPage(router: Router, deps: { auth: Authenticator; assets: () => WebClientAssets | undefined; apiUrl: string }): void {
  router.get(ADMIN_PAGE_PATH, async (ctx) => {
    if (!(await deps.auth.load(ctx))) return message(ctx, 401, "Sign in first", "Open your sign-in link, then come back to /admin.");
    if ((ctx.state as SignedInState).user.role !== "admin") return message(ctx, 403, "Admins only", "This page is for the box's admins.");
    const assets = deps.assets();
    if (!assets) return message(ctx, 503, "Not built yet", "Run npm run build:webclient in the server's folder, then reload.");
    const nonce = newNonce();
    ctx.type = "text/html; charset=utf-8";
    ctx.set("Cache-Control", "no-store");
    ctx.set("Content-Security-Policy", chatPagePolicy({ nonce, scriptUrl: undefined, apiUrl: deps.apiUrl, extraOrigins: [] }));
    ctx.body = htmlDocument({
      title: "Admin",
      head: `<link rel="stylesheet" href="${escapeHtml(assets.admin.style.path)}">\n<script type="module" src="${escapeHtml(assets.admin.script.path)}"></script>`,
      body: '<div id="admin-app"></div>',
    });
  });
}
