import Router from "@koa/router";
import Keygrip from "keygrip";
import Koa, { type Context } from "koa";
import { koaBody } from "koa-body";
import { attachmentStorageFor, type AttachmentStorage } from "../attachments/storage.ts";
import { AttachmentService } from "../attachments/service.ts";
import { RunnerRegistry } from "../agents/index.ts";
import { chatCompletionParts, responsesInputParts } from "../attachments/model-input.ts";
import { startUnsentAttachmentSweeper } from "../attachments/sweep.ts";
import { resolveCookieKeys } from "../config/secrets.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import type { Services } from "../handlers/context.ts";
import type { Store } from "../store/index.ts";
import { mountAttachmentRoutes } from "./attachment-routes.ts";
import { registerPageRoutes } from "../pages/routes.ts";
import { authenticate, resolveAgent, sameOriginForCookies } from "./auth.ts";
import { clientSecretRoute } from "./client-secret.ts";
import { accessLog } from "./access-log.ts";
import { chatkitEntry } from "./entry.ts";
import { ChatkitError } from "../core/errors.ts";
import { consoleLogger, type Logger } from "../core/logger.ts";
import { errorMiddleware } from "./errors.ts";
import { SessionCookie } from "./session-cookie.ts";
import { McpRegistry } from "../mcp/registry.ts";

export interface AppDeps {
  store: Store;
  /** Where attachment bytes live; built from `config.storage` when left out. */
  storage?: AttachmentStorage;
  logger?: Logger;
  /** The MCP connections; whoever passes it in closes it at shutdown (one is made otherwise). */
  mcp?: McpRegistry;
}

/** koa-body 8 rethrows JSON syntax errors bare; size errors keep their 413. */
function rejectUnparsableBody(error: Error): never {
  const status = (error as { status?: number }).status;
  if (status === 413) throw new ChatkitError(413, "payload_too_large");
  if (status === 415) throw new ChatkitError(415, "unsupported_content_type");
  throw new ChatkitError(400, "invalid_json");
}

/** Body size for JSON requests: large enough for a transcription's base64 audio. */
function jsonLimitFor(config: ChatkitConfig): number {
  return Math.max(1024 * 1024, Math.ceil(config.chatkit.uploadMaxBytes * 1.4) + 64 * 1024);
}

/**
 * Builds the Koa app without listening, so tests and host apps can mount it.
 *
 * @example
 * const store = await openStore(config);
 * createApp(config, { store }).listen(config.server.port);
 */
export function createApp(config: ChatkitConfig, deps: AppDeps): Koa {
  const logger = deps.logger ?? consoleLogger;
  const app = new Koa({ proxy: config.server.trustProxy });
  const keys = new Keygrip(resolveCookieKeys(config), "sha256");
  app.keys = keys as unknown as string[];
  const sessionCookie = new SessionCookie(config, keys);
  app.silent = true;

  const files = deps.storage ?? attachmentStorageFor(config);
  const services: Services = {
    attachments: new AttachmentService({
      files,
      store: deps.store.attachments,
      keys,
      limits: { maxBytes: config.chatkit.uploadMaxBytes, allowedMimeTypes: config.chatkit.allowedMimeTypes },
    }),
    logger,
    runners: new RunnerRegistry(config, {
      responses: (attachments, options) => responsesInputParts(files, attachments, options),
      chat: (attachments, options) => chatCompletionParts(files, attachments, options),
    }),
    mcp: deps.mcp ?? new McpRegistry(config, logger),
  };
  startUnsentAttachmentSweeper(deps.store.attachments, files, config.chatkit.unsentAttachmentTtlHours, logger);
  // Koa 3's ctx.origin is the Origin request header; our own origin is protocol and host.
  const requestOrigin = (ctx: Context) => `${ctx.protocol}://${ctx.host}`;
  const publicBaseUrl = (ctx: Context) => (config.server.publicUrl ?? requestOrigin(ctx)).replace(/\/+$/, "");
  const ownOrigins = (ctx: Context) => [new URL(publicBaseUrl(ctx)).origin, requestOrigin(ctx)];

  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { ok: true };
  });

  const requireSession = authenticate(deps.store.sessions, sessionCookie);
  const checkOrigin = sameOriginForCookies(ownOrigins);
  mountAttachmentRoutes(router, {
    attachments: services.attachments,
    authenticate: requireSession,
    sameOriginForCookies: checkOrigin,
    publicBaseUrl,
  });
  router.post(
    "/chatkit",
    requireSession,
    checkOrigin,
    resolveAgent(config.agents),
    koaBody({
      json: true,
      jsonStrict: true,
      jsonLimit: jsonLimitFor(config),
      jsonTypes: ["application/json", "application/*+json", "text/plain"],
      text: false,
      urlencoded: false,
      multipart: false,
      onError: rejectUnparsableBody,
    }),
    chatkitEntry({ config, store: deps.store, services, publicBaseUrl }),
  );

  router.post("/chatkit/client_secret", requireSession, checkOrigin, clientSecretRoute(config, logger));
  registerPageRoutes(router, { config, store: deps.store, sessionCookie, ownOrigins });

  if (config.server.accessLog) app.use(accessLog(logger));
  app.use(errorMiddleware(logger));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
