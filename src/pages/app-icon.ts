import type Router from "@koa/router";
import type { Context } from "koa";

export const FAVICON_PATH = "/favicon.svg";
export const MANIFEST_PATH = "/manifest.webmanifest";

/** A speech bubble in the client's blue: one small SVG for the tab, bookmarks and an installed app. */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#1a56db"/><path d="M16 18h32a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H30l-9 7v-7h-5a4 4 0 0 1-4-4V22a4 4 0 0 1 4-4z" fill="#fff"/><circle cx="24" cy="30" r="3" fill="#1a56db"/><circle cx="32" cy="30" r="3" fill="#1a56db"/><circle cx="40" cy="30" r="3" fill="#1a56db"/></svg>`;

const MANIFEST = JSON.stringify({
  name: "chatkit-box",
  short_name: "Chat",
  start_url: "/",
  display: "standalone",
  background_color: "#ffffff",
  theme_color: "#1a56db",
  icons: [{ src: FAVICON_PATH, sizes: "any", type: "image/svg+xml", purpose: "any" }],
});

/** The `<head>` links every page carries, so no browser asks for a missing /favicon.ico. */
export const ICON_LINKS = `<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
<link rel="manifest" href="${MANIFEST_PATH}">`;

/** The favicon (also at /favicon.ico, which browsers and bookmark tools ask for on their own) and the web app manifest. */
export function registerIconRoutes(router: Router): void {
  const icon = (ctx: Context) => {
    ctx.type = "image/svg+xml";
    ctx.set("Cache-Control", "public, max-age=86400");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.body = FAVICON_SVG;
  };
  router.get(FAVICON_PATH, icon);
  router.get("/favicon.ico", icon);
  router.get(MANIFEST_PATH, (ctx) => {
    ctx.type = "application/manifest+json";
    ctx.set("Cache-Control", "public, max-age=86400");
    ctx.body = MANIFEST;
  });
}
