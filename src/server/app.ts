import { createServer, type Server } from "node:http";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import compose, { type ComposedMiddleware } from "koa-compose";
import { mountAccountApi } from "../account/api.ts";
import { mountAdminApi } from "../admin/api.ts";
import { LOGIN_PATH_PREFIX } from "../auth/login-links.ts";
import { sameOriginForCookies } from "../auth/origin.ts";
import { throttleFailedCredentials } from "../auth/throttle.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { accessLogLine, onRequestEnd, requestMetrics } from "../http/access-log.ts";
import { resolveAgent } from "../http/agent.ts";
import { mountAttachmentRoutes } from "../http/attachment-routes.ts";
import { chatkitJsonBody } from "../http/body.ts";
import { clientSecretRoute } from "../http/client-secret.ts";
import { chatkitEntry } from "../http/entry.ts";
import { errorMiddleware, requestIds } from "../http/errors.ts";
import { mountMetricsRoute } from "../http/metrics-route.ts";
import { LIMIT_KEYS } from "../metrics/index.ts";
import { registerPageRoutes } from "../pages/routes.ts";
import { AppServices, createServices, type ServiceDeps } from "./services.ts";

/** What an app is built on: the services' parts (built into services here), or services built already. */
export type AppDeps = ServiceDeps | { services: AppServices };

/** The Koa app of one box, holding the services it runs on. */
export class ChatkitApp extends Koa {
  constructor(
    readonly services: AppServices,
    options: { proxy: boolean; maxIpsCount: number },
  ) {
    super(options);
  }

  /** Stops the services' background work and closes what they opened (the store stays open). */
  close(): Promise<void> {
    return this.services.close();
  }
}

/**
 * Builds the Koa app without listening, so tests and host apps can mount it: its services (see
 * `AppServices`), started, and every route, the API's and the pages'. `close()` stops them.
 *
 * @example
 * const store = await openStore(config);
 * createHttpServer(createApp(config, { store }), config).listen(config.server.port);
 */
export function createApp(config: ChatkitConfig, deps: AppDeps): ChatkitApp {
  const services = "services" in deps ? deps.services : createServices(config, deps);
  const { logger, metrics, store, sessionCookie } = services;
  // Forwarded headers reach Koa only from `server.trustProxy` (see TrustedProxies.middleware).
  const app = new ChatkitApp(services, { proxy: !services.proxies.none, maxIpsCount: 1 });
  app.keys = services.keys as unknown as string[];
  app.silent = true;
  services.start();
  // Koa 3's ctx.origin is the Origin request header; our own origin is protocol and host.
  const requestOrigin = (ctx: Context) => `${ctx.protocol}://${ctx.host}`;
  const publicBaseUrl = (ctx: Context) => (config.server.publicUrl ?? requestOrigin(ctx)).replace(/\/+$/, "");
  const ownOrigins = (ctx: Context) => [new URL(publicBaseUrl(ctx)).origin, requestOrigin(ctx)];

  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { ok: true };
  });

  const requireSession = services.auth.required();
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
    chatkitEntry({ config, store, services, publicBaseUrl }),
  ]);
  router.post(CHATKIT_PATH, chatkitRoute);

  router.post("/chatkit/client_secret", requireSession, checkOrigin, clientSecretRoute(config, { gate: services.upstream, metrics }));
  registerPageRoutes(router, { config, store, sessionCookie, auth: services.auth, ownOrigins });

  const accountDeps = { store, auth: services.auth, events: services.authEvents, sameOriginForCookies: checkOrigin };
  mountAccountApi(router, accountDeps);
  mountAdminApi(router, { ...accountDeps, config, publicBaseUrl });

  if (config.server.metrics.enabled) mountMetricsRoute(router, metrics, config.server.metrics.token);

  const logLine = config.server.accessLog ? accessLogLine() : undefined;
  // Counted only when someone can read the counts: labelled counters cost every request.
  const countRequest = config.server.metrics.enabled ? requestMetrics(metrics) : undefined;
  app.use(services.proxies.middleware());
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
  app.use(throttleFailedCredentials(services.failedCredentials, LOGIN_PATH_PREFIX));
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
