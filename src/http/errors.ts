import type { Context, Next } from "koa";
import { errorMessage } from "./locale.ts";

/**
 * An error the client may see: an HTTP status and a stable key (config/locales). Anything else
 * thrown is unexpected: logged with its stack and answered as a generic 500.
 */
export class ChatkitError extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(key);
    this.name = "ChatkitError";
  }
}

export const notFound = (key: string) => new ChatkitError(404, key);

/** Koa's own http errors (body parser limits and the like) mapped to our keys. */
const KEY_FOR_STATUS: Record<number, string> = {
  400: "invalid_json",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_content_type",
};

export interface Logger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  error: (message, error) => console.error(message, error instanceof Error ? error.stack : (error ?? "")),
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
