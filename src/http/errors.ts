import { randomUUID } from "node:crypto";
import type { Context, Next } from "koa";
import { ChatkitError } from "../core/errors.ts";
import { errorMessage } from "../core/locale.ts";
import type { Logger } from "../core/logger.ts";
import { hasBody } from "./body.ts";
import type { AppState } from "./state.ts";

/** Koa's own http errors (router, Koa internals) mapped to our status and key. */
const KNOWN_HTTP_ERRORS: Record<number, [number, string]> = {
  400: [400, "invalid_json"],
  401: [401, "unauthorized"],
  404: [404, "not_found"],
  405: [405, "method_not_allowed"],
  413: [413, "payload_too_large"],
  415: [415, "unsupported_content_type"],
  // The router answers methods it has never heard of (PROPFIND, TRACE, …) with 501.
  501: [405, "method_not_allowed"],
};

/** The disk is full, a file may not grow (quota, `ulimit -f`), or the data dir is read-only. */
function isStorageFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return ["ENOSPC", "EFBIG", "EDQUOT", "EROFS", "SQLITE_FULL", "SQLITE_READONLY"].includes(code) || code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_READONLY_");
}

/** An incoming `X-Request-Id` is kept only when it is short and plain (no log or header injection). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Gives every request an id (the caller's `X-Request-Id` when sane, else a new one), answers it
 * in `X-Request-Id`, and puts it and a logger naming it on `ctx.state` (`requestId`, `log`):
 * whatever logs for the request uses that logger.
 */
export function requestIds(logger: Logger) {
  return function withRequestId(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get("X-Request-Id");
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set("X-Request-Id", requestId);
    const state = ctx.state as AppState;
    state.requestId = requestId;
    state.log = logger.forRequest(requestId);
    return next();
  };
}

const isJsonValue = (body: unknown) =>
  body !== null && typeof body === "object" && !Buffer.isBuffer(body) && typeof (body as { pipe?: unknown }).pipe !== "function";

/**
 * Turns every error into `{"error": key, "message": text, "request_id": id, ...details}`; never
 * a stack trace. JSON answers are serialised here, inside the try, so a value that cannot be
 * serialised is a logged 500 with the error JSON rather than a silent failure after the
 * access log saw 200. Runs after `requestIds`.
 */
export function errorMiddleware(onError?: (status: number, key: string) => void) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    const { log: logger, requestId } = ctx.state as AppState;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ChatkitError(404, "not_found");
      if (isJsonValue(ctx.body)) {
        const status = ctx.status;
        ctx.body = JSON.stringify(ctx.body);
        ctx.type = "application/json";
        ctx.status = status;
      }
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) {
        // Nobody is left to answer; a refusal (the client went away meanwhile) is not worth a log line.
        const expected = error instanceof ChatkitError || Boolean(KNOWN_HTTP_ERRORS[(error as { status?: number }).status ?? 0]);
        if (!expected) logger.error(`error after the response started (${ctx.method} ${ctx.path})`, error);
        return;
      }
      let status = 500;
      let key = "internal_error";
      let details: Record<string, unknown> = {};
      if (error instanceof ChatkitError) {
        ({ status, key, details } = error);
      } else {
        const httpStatus = (error as { status?: number }).status;
        const known = httpStatus ? KNOWN_HTTP_ERRORS[httpStatus] : undefined;
        if (isStorageFailure(error)) {
          // The operator must act (free space, fix permissions); the client gets a clear, retryable answer.
          logger.error(`storage failure on ${ctx.method} ${ctx.path}`, error);
          [status, key] = [507, "insufficient_storage"];
        } else if (known) {
          [status, key] = known;
          const allow = (error as { headers?: Record<string, string> }).headers?.Allow;
          if (allow) ctx.set("Allow", allow);
        } else {
          logger.error(`unhandled error on ${ctx.method} ${ctx.path}`, error);
        }
      }
      onError?.(status, key);
      ctx.set("Cache-Control", "no-store");
      // Refused before its body was read (401, 403, 413, 429...): close rather than drain it, so a
      // body sent a byte at a time cannot hold the connection until the request timeout.
      if (hasBody(ctx.req) && !ctx.req.complete) ctx.set("Connection", "close");
      if (status === 429 && typeof details.retry_after === "number") ctx.set("Retry-After", String(details.retry_after));
      ctx.status = status;
      ctx.type = "application/json";
      ctx.body = JSON.stringify({ error: key, message: errorMessage(key, details), ...details, request_id: requestId });
    }
  };
}
