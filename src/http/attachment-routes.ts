import type Router from "@koa/router";
import type { Context, Middleware } from "koa";
import { attachmentResponseHeaders, type AttachmentService, type IncomingUpload, type StoredFile } from "../attachments/service.ts";
import type { AppState } from "./state.ts";

export interface AttachmentRouteDeps {
  attachments: AttachmentService;
  /** The same `authenticate` and `sameOriginForCookies` middlewares as `POST /chatkit`. */
  authenticate: Middleware;
  sameOriginForCookies: Middleware;
  publicBaseUrl: (ctx: Context) => string;
}

function incomingUpload(ctx: Context): IncomingUpload {
  const length = ctx.get("Content-Length");
  return { body: ctx.req, contentType: ctx.get("Content-Type") || undefined, contentLength: length ? Number(length) : undefined };
}

function serve(ctx: Context, file: StoredFile, cacheControl: string): void {
  ctx.body = file.stream;
  ctx.set(attachmentResponseHeaders(file.row, file.size));
  ctx.set("Cache-Control", cacheControl);
}

/**
 * The attachment routes beside `POST /chatkit`: direct upload, the second phase of a two-phase
 * upload, the owner's download, and signed image previews. Thin: the rules live in
 * AttachmentService.
 */
export function mountAttachmentRoutes(router: Router, deps: AttachmentRouteDeps): void {
  const { attachments } = deps;

  router.post("/chatkit/upload", deps.authenticate, deps.sameOriginForCookies, async (ctx) => {
    const row = await attachments.receiveDirect((ctx.state as AppState).owner, incomingUpload(ctx));
    ctx.body = attachments.toWire(row, deps.publicBaseUrl(ctx));
  });

  // The reference leaves the client's choice open: raw bytes by PUT or a multipart `file` by POST.
  for (const method of ["put", "post"] as const) {
    router[method]("/chatkit/upload/:attachmentId", deps.authenticate, deps.sameOriginForCookies, async (ctx) => {
      const row = await attachments.receiveUpload((ctx.state as AppState).owner, ctx.params.attachmentId!, incomingUpload(ctx));
      ctx.body = attachments.toWire(row, deps.publicBaseUrl(ctx));
    });
  }

  router.get("/chatkit/attachments/:attachmentId", deps.authenticate, async (ctx) => {
    const file = await attachments.fileForOwner((ctx.state as AppState).owner, ctx.params.attachmentId!);
    serve(ctx, file, "private, no-cache");
  });

  // No session here: an <img> cannot send a bearer header, so the signed URL is the credential.
  router.get("/chatkit/attachments/:attachmentId/preview", async (ctx) => {
    const file = await attachments.fileForPreview(ctx.params.attachmentId!, ctx.query.expires, ctx.query.sig);
    serve(ctx, file, "private, max-age=300");
    // The ChatKit element draws thumbnails inside its own cross-origin frame (OpenAI's CDN).
    ctx.set("Cross-Origin-Resource-Policy", "cross-origin");
  });
}
