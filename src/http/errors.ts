import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import { errorMessage } from "../core/locale.ts";
import type { Logger } from "../core/logger.ts";

/** Koa's own http errors (body parser limits and the like) mapped to our keys. */
const KEY_FOR_STATUS: Record<number, string> = {
  400: "invalid_json",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_content_type",
};

/** Turns every error into `{"error": key, "message": text, ...details}`; never a stack trace. */
export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ChatkitError(404, "not_found");
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) {
        logger.error(`error after the response started (${ctx.method} ${ctx.path})`, error);
        return;
      }
      let status = 500;
      let key = "internal_error";
      let details: Record<string, unknown> = {};
      if (error instanceof ChatkitError) {
        ({ status, key, details } = error);
      } else {
        const expose = (error as { expose?: boolean }).expose;
        const httpStatus = (error as { status?: number }).status;
        if (expose && httpStatus && KEY_FOR_STATUS[httpStatus]) {
          status = httpStatus;
          key = KEY_FOR_STATUS[httpStatus];
        } else {
          logger.error(`unhandled error on ${ctx.method} ${ctx.path}`, error);
        }
      }
      ctx.set("Cache-Control", "no-store");
      ctx.status = status;
      ctx.body = { error: key, message: errorMessage(key), ...details };
    }
  };
}
