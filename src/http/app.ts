import { createServer, type Server } from "node:http";
import Router from "@koa/router";
import Keygrip from "keygrip";
import Koa, { type Context, type Next } from "koa";
import compose, { type ComposedMiddleware } from "koa-compose";
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
import { LOGIN_PATH_PREFIX, registerPageRoutes } from "../pages/routes.ts";
import { authenticate, resolveAgent, sameOriginForCookies, throttleFailedCredentials } from "./auth.ts";
import { clientSecretRoute } from "./client-secret.ts";
import { accessLogLine, onRequestEnd, requestMetrics } from "./access-log.ts";
import { chatkitJsonBody } from "./body.ts";
import { chatkitEntry } from "./entry.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { FailureThrottle } from "../limits/throttle.ts";
import { LIMIT_KEYS, metricsFor } from "../metrics/index.ts";
import { errorMiddleware, requestIds } from "./errors.ts";
import { mountMetricsRoute } from "./metrics-route.ts";
import { SessionCookie } from "./session-cookie.ts";
import { McpRegistry } from "../mcp/registry.ts";
import { QuotaService } from "../usage/quotas.ts";
import { UsageRecorder } from "../usage/recorder.ts";

export interface AppDeps {
  store: Store;
  /** Where attachment bytes live; built from `config.storage` when left out. */
  storage?: AttachmentStorage;
  logger?: Logger;
  /** The MCP connections; whoever passes it in closes it at shutdown (one is made otherwise). */
  mcp?: McpRegistry;
}

/**
 * Builds the Koa app without listening, so tests and host apps can mount it.
 *
 * @example
 * const store = await openStore(config);
 * createHttpServer(createApp(config, { store }), config).listen(config.server.port);
 */
export function createApp(config: ChatkitConfig, deps: AppDeps): Koa {
  const logger = deps.logger ?? createLogger(config.server.logFormat);
  const metrics = metricsFor(config);
  // One trusted proxy: the client's address is the last X-Forwarded-For entry (the one the proxy
  // added), not the first, which the client itself can write (the sign-in throttle counts by it).
  const app = new Koa({ proxy: config.server.trustProxy, maxIpsCount: 1 });
  const keys = new Keygrip(resolveCookieKeys(config), "sha256");
  app.keys = keys as unknown as string[];
  const sessionCookie = new SessionCookie(config, keys);
  app.silent = true;

  const files = deps.storage ?? attachmentStorageFor(config);
  const quotas = new QuotaService(deps.store, config, metrics, logger);
  const services: Services = {
    attachments: new AttachmentService({
      files,
      store: deps.store.attachments,
      keys,
      limits: { maxBytes: config.chatkit.uploadMaxBytes, allowedMimeTypes: config.chatkit.allowedMimeTypes },
      quota: quotas,
    }),
    runners: new RunnerRegistry(config, {
      responses: (attachments, options) => responsesInputParts(files, attachments, options),
      chat: (attachments, options) => chatCompletionParts(files, attachments, options),
    }),
    mcp: deps.mcp ?? new McpRegistry(config, logger),
    usage: new UsageRecorder(deps.store.usage, metrics, logger),
    quotas,
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
  const chatkitRoute = compose<Context>([
    requireSession,
    checkOrigin,
    resolveAgent(config.agents),
    chatkitJsonBody({ ...config.limits, transcriptionBytes: config.chatkit.uploadMaxBytes }),
    chatkitEntry({ config, store: deps.store, services, publicBaseUrl }),
  ]);
  router.post(CHATKIT_PATH, chatkitRoute);

  router.post("/chatkit/client_secret", requireSession, checkOrigin, clientSecretRoute(config));
  registerPageRoutes(router, { config, store: deps.store, sessionCookie, ownOrigins });

  if (config.server.metrics.enabled) mountMetricsRoute(router, metrics, config.server.metrics.token);

  const logLine = config.server.accessLog ? accessLogLine() : undefined;
  // Counted only when someone can read the counts: labelled counters cost every request.
  const countRequest = config.server.metrics.enabled ? requestMetrics(metrics) : undefined;
  app.use(requestIds(logger));
  app.use(
    onRequestEnd((request) => {
      logLine?.(request);
      countRequest?.(request);
    }),
  );
  app.use(
    errorMiddleware((status, key) => {
      metrics.errors.inc({ key });
      if (LIMIT_KEYS.has(key)) metrics.limitRefusals.inc({ limit: key });
    }),
  );
  app.use(throttleFailedCredentials(new FailureThrottle(config.limits.failedAuthPerMinute), LOGIN_PATH_PREFIX));
  app.use(chatkitFirst(chatkitRoute));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}

const CHATKIT_PATH = "/chatkit";

/**
 * Sends `POST /chatkit` (every ChatKit request) straight to its route: @koa/router builds and
 * composes a chain for each request it routes and reads the Host header even with no host
 * rules, a few per cent of a list request. The router keeps the same route, so other methods
 * on the path still get its 405 with `Allow`, and the route label for metrics is the same.
 */
function chatkitFirst(route: ComposedMiddleware<Context>) {
  return function chatkitEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== "POST" || ctx.path !== CHATKIT_PATH) return next();
    (ctx as { _matchedRoute?: string })._matchedRoute = CHATKIT_PATH;
    return route(ctx, next);
  };
}

/**
 * The HTTP server for an app, with Node's limits on slow clients (`limits.headersTimeoutMs`,
 * `limits.requestTimeoutMs`). Both bound receiving the request only: a long event stream, once
 * its request has arrived, is not cut. Node checks them on an interval, kept well under the
 * headers timeout so a slow client is dropped close to it.
 */
export function createHttpServer(app: Koa, config: ChatkitConfig): Server {
  return createServer(
    {
      headersTimeout: config.limits.headersTimeoutMs,
      requestTimeout: config.limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.limits.headersTimeoutMs / 4))),
    },
    app.callback(),
  );
}
