import { performance } from "node:perf_hooks";
import type { Context, Next } from "koa";
import type { Logger } from "../core/logger.ts";

/** Paths whose last part is a secret (one-time sign-in links) are logged without it. */
const SECRET_PATH = /^(\/login\/)[^/]+/;

/**
 * One line per request: method, path (no query string: it can carry signatures), the ChatKit
 * request type, status and duration. Streams are logged when they end. Never bodies or tokens.
 */
export function accessLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const line = () => {
      const type = (ctx.state as { requestType?: string }).requestType;
      const ms = (performance.now() - started).toFixed(1);
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      logger.info(`${ctx.method} ${ctx.path.replace(SECRET_PATH, "$1…")}${type ? ` ${type}` : ""} ${status} ${ms}ms`);
    };
    try {
      await next();
    } finally {
      if (ctx.respond === false && !ctx.res.writableEnded) ctx.res.once("close", line);
      else line();
    }
  };
}
