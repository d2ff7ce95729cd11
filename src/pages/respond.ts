import type { Context } from "koa";
import { MESSAGE_PAGE_POLICY } from "./csp.ts";
import { type MessagePageButton, renderMessagePage } from "./message-page.ts";

/** The chat page's path for an agent. */
export function chatPagePath(agentId: string): string {
  return `/agents/${encodeURIComponent(agentId)}/chatkit`;
}

/** Answers an HTML page with its policy; pages are never cached (they name who is signed in). */
export function sendHtml(ctx: Context, status: number, html: string, policy: string): void {
  ctx.status = status;
  ctx.type = "text/html; charset=utf-8";
  ctx.set("Content-Security-Policy", policy);
  ctx.set("Cache-Control", "no-store");
  ctx.set("X-Content-Type-Options", "nosniff");
  ctx.set("Referrer-Policy", "same-origin");
  ctx.body = html;
}

export function sendMessagePage(ctx: Context, status: number, title: string, paragraphs: string[], button?: MessagePageButton): void {
  sendHtml(ctx, status, renderMessagePage(title, paragraphs, button), MESSAGE_PAGE_POLICY);
}
