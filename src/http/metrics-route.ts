import { timingSafeEqual } from "node:crypto";
import type Router from "@koa/router";
import type { Context } from "koa";
import { ChatkitError } from "../core/errors.ts";
import type { Metrics } from "../metrics/index.ts";

function bearerMatches(ctx: Context, token: string): boolean {
  const given = Buffer.from(ctx.get("Authorization"));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /metrics` in Prometheus' text format (`server.metrics.enabled`). With
 * `server.metrics.token` set, only `Authorization: Bearer <token>` may read it.
 */
export function mountMetricsRoute(router: Router, metrics: Metrics, token: string | undefined): void {
  metrics.collectProcessMetrics();
  router.get("/metrics", async (ctx) => {
    if (token && !bearerMatches(ctx, token)) throw new ChatkitError(401, "unauthorized");
    ctx.set("Cache-Control", "no-store");
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
}
