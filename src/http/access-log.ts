import { performance } from "node:perf_hooks";
import type { Context, Next } from "koa";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../metrics/index.ts";
import type { AppState } from "./state.ts";

/** Paths whose last part is a secret (one-time sign-in links) are logged without it. */
const SECRET_PATH = /^(\/login\/)[^/]+/;

/** A request that has been answered (a stream: that has ended). */
export interface FinishedRequest {
  method: string;
  /** The path without its query string (it can carry signatures) or secrets. */
  path: string;
  /** The ChatKit request type, when it was one. */
  type: string | undefined;
  /** The route pattern that answered (`/chatkit/attachments/:attachmentId`), when one did. */
  route: string | undefined;
  status: number;
  ms: number;
  /** The request's logger (its lines name the request id). */
  log: Logger;
}

/**
 * Calls `listener` once per request when its answer is complete: at once for plain answers,
 * when the connection's response ends for streams. The status is the one the client got.
 */
export function onRequestEnd(listener: (request: FinishedRequest) => void) {
  return async function observe(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const state = ctx.state as AppState;
    const report = () => {
      listener({
        method: ctx.method,
        path: ctx.path.replace(SECRET_PATH, "$1…"),
        type: state.requestType,
        route: (ctx as { _matchedRoute?: string })._matchedRoute,
        status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
        ms: performance.now() - started,
        log: state.log,
      });
    };
    try {
      await next();
    } finally {
      // A stream still being written is reported when its connection closes; one whose client
      // already left (its close event gone by) is reported now, or it would never be.
      if (ctx.respond === false && !ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.once("close", report);
      else report();
    }
  };
}

/** One line per request: method, path, the ChatKit request type, status and duration. Never bodies or tokens. */
export function accessLogLine() {
  return (request: FinishedRequest) =>
    request.log.info(`${request.method} ${request.path}${request.type ? ` ${request.type}` : ""} ${request.status} ${request.ms.toFixed(1)}ms`);
}

/** Request counts and latency by ChatKit request type, else by route pattern (never raw paths: unbounded labels). */
export function requestMetrics(metrics: Metrics) {
  return (request: FinishedRequest) => {
    const type = request.type ?? (request.route ? `${request.method} ${request.route}` : "unmatched");
    metrics.requests.inc({ type, status: String(request.status) });
    metrics.requestDuration.observe({ type }, request.ms / 1000);
  };
}
