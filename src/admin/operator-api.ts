import { readFileSync } from "node:fs";
import type Router from "@koa/router";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import { upstreamOf } from "../agents/upstream.ts";
import type { AttachmentStorage } from "../attachments/files.ts";
import type { AuthEvents } from "../auth/events.ts";
import type { Authenticator, SignedInState } from "../auth/session.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { toIso } from "../core/clock.ts";
import { ChatkitError, invalidField } from "../core/errors.ts";
import type { McpRegistry } from "../mcp/registry.ts";
import type { Metrics } from "../metrics/index.ts";
import type { Store, UserRow } from "../store/index.ts";
import { summarizeUsage, usageCsv } from "../usage/report.ts";
import { userJson } from "../auth/records.ts";
import { admin, ADMIN_API_PREFIX, adminGuard, readSmallJson, targetUser } from "./api.ts";
import { deleteUserAndFiles, exportFileName, exportUserArchive } from "./user-data.ts";

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
const STARTED_AT = Date.now();

export interface OperatorApiDeps {
  config: ChatkitConfig;
  store: Store;
  files: AttachmentStorage;
  auth: Authenticator;
  events: AuthEvents;
  metrics: Metrics;
  mcp: McpRegistry;
  sameOriginForCookies: Middleware;
}

const limitValue = z.number().int().positive().nullable();
const quotasBody = z.strictObject({ tokens_per_day: limitValue, tokens_per_month: limitValue, stored_bytes: limitValue, uploads_in_flight: limitValue });

const DAY_MS = 24 * 3600 * 1000;
const MAX_REPORT_DAYS = 366;

/** `?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, `to` included), the last 30 days by default. */
export function reportPeriod(query: Record<string, unknown>, now = Date.now()): { from: number; to: number } {
  const day = (value: unknown, field: string) => {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw invalidField(field, "a day as YYYY-MM-DD");
    return Date.parse(`${value}T00:00:00Z`);
  };
  const today = Date.parse(`${new Date(now).toISOString().slice(0, 10)}T00:00:00Z`);
  const to = (day(query.to, "to") ?? today) + DAY_MS;
  const from = day(query.from, "from") ?? to - 30 * DAY_MS;
  if (from >= to || to - from > MAX_REPORT_DAYS * DAY_MS) throw invalidField("from", `from must come before to, at most ${MAX_REPORT_DAYS} days apart`);
  return { from, to };
}

/** Whether an OpenAI-compatible upstream answers now: any HTTP answer from `GET /models` within a few seconds. */
async function upstreamAnswers(baseURL: string, apiKey: string | undefined): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(`${baseURL.replace(/\/+$/, "")}/models`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return { ok: response.status < 500, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/**
 * The operator's side of the admin API (admin role, as `mountAdminApi`): people with their usage,
 * last sign-in and quotas; usage by day, user, agent and model (JSON or CSV); storage; the box's
 * health; per-user quota overrides; deleting and exporting a user. Every change is one log line.
 * `GET /account/api/export` gives a signed-in user their own archive.
 */
export function mountOperatorApi(router: Router, deps: OperatorApiDeps): void {
  const { store, events, config } = deps;
  const guard = adminGuard(deps);
  const target = (ctx: Context) => targetUser(store, ctx);
  const sendArchive = (ctx: Context, user: UserRow) => {
    ctx.set("Content-Type", "application/gzip");
    ctx.set("Content-Disposition", `attachment; filename="${exportFileName(user)}"`);
    ctx.set("Cache-Control", "no-store");
    ctx.body = exportUserArchive(store, deps.files, user);
  };

  router.get(`${ADMIN_API_PREFIX}/people`, ...guard, async (ctx) => {
    const query = typeof ctx.query.q === "string" ? ctx.query.q.trim().toLowerCase() : "";
    const [users, month, storage, seen, overrides] = await Promise.all([
      store.users.list(),
      store.usage.monthTotals(Date.now()),
      store.quotas.storageByUser(),
      store.userData.lastSeen(),
      store.quotas.listOverrides(),
    ]);
    const by = <T extends { user_id: string }>(rows: T[]) => new Map(rows.map((row) => [row.user_id, row]));
    const [monthBy, storageBy, seenBy, overridesBy] = [by(month), by(storage), by(seen), by(overrides)];
    ctx.body = {
      people: users
        .filter((user) => !query || user.email.includes(query))
        .map((user) => {
          const { user_id: _id, ...quotas } = overridesBy.get(user.id) ?? { user_id: user.id, tokens_per_day: null, tokens_per_month: null, stored_bytes: null, uploads_in_flight: null };
          const lastSeen = seenBy.get(user.id)?.last_seen ?? null;
          return {
            ...userJson(user),
            last_seen: lastSeen === null ? null : toIso(lastSeen),
            tokens_this_month: monthBy.get(user.id)?.tokens ?? 0,
            turns_this_month: monthBy.get(user.id)?.turns ?? 0,
            stored_bytes: storageBy.get(user.id)?.stored_bytes ?? 0,
            quotas,
          };
        }),
      defaults: {
        tokens_per_day: config.quotas.tokensPerDay,
        tokens_per_month: config.quotas.tokensPerMonth,
        stored_bytes: config.quotas.storedBytesPerUser,
        uploads_in_flight: config.quotas.uploadsInFlightPerUser,
      },
    };
  });

  router.put(`${ADMIN_API_PREFIX}/users/:id/quotas`, ...guard, async (ctx) => {
    const body = await readSmallJson(ctx, quotasBody);
    const user = await target(ctx);
    await store.quotas.setOverrides(user.id, body);
    events.record(ctx, "quotas_changed", { by: admin(ctx).email, user: user.email, ...body });
    ctx.body = { user: userJson(user), quotas: body };
  });

  router.delete(`${ADMIN_API_PREFIX}/users/:id`, ...guard, async (ctx) => {
    const user = await target(ctx);
    if (user.id === admin(ctx).id) throw new ChatkitError(409, "cannot_change_self");
    await deleteUserAndFiles(store, deps.files, user.id);
    events.record(ctx, "user_deleted", { by: admin(ctx).email, user: user.email });
    ctx.body = { deleted: true };
  });

  router.get(`${ADMIN_API_PREFIX}/users/:id/export`, ...guard, async (ctx) => {
    const user = await target(ctx);
    events.record(ctx, "user_exported", { by: admin(ctx).email, user: user.email });
    sendArchive(ctx, user);
  });

  router.get(`${ADMIN_API_PREFIX}/usage`, ...guard, async (ctx) => {
    const period = reportPeriod(ctx.query);
    const [rows, users] = await Promise.all([store.usage.list(period), store.users.list()]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    const summary = summarizeUsage(rows, (id) => emails.get(id) ?? id);
    if (ctx.query.format === "csv") {
      ctx.set("Content-Type", "text/csv; charset=utf-8");
      ctx.set("Content-Disposition", `attachment; filename="chatkit-usage-${toIso(period.from).slice(0, 10)}.csv"`);
      ctx.body = usageCsv(summary);
      return;
    }
    ctx.body = { from: toIso(period.from), to: toIso(period.to), rows: summary };
  });

  router.get(`${ADMIN_API_PREFIX}/storage`, ...guard, async (ctx) => {
    const [users, storage, unsent, inFlight] = await Promise.all([store.users.list(), store.quotas.storageByUser(), store.userData.unsentUploads(), store.quotas.reservations()]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    const perUser = storage.map((row) => ({ user_id: row.user_id, email: emails.get(row.user_id) ?? row.user_id, stored_bytes: row.stored_bytes })).sort((a, b) => b.stored_bytes - a.stored_bytes);
    ctx.body = {
      total_bytes: perUser.reduce((sum, row) => sum + row.stored_bytes, 0),
      users: perUser,
      unsent_uploads: unsent,
      uploads_in_flight: { count: inFlight.length, bytes: inFlight.reduce((sum, row) => sum + row.bytes, 0) },
      backend: config.storage.type === "s3" ? `S3 bucket ${config.storage.bucket}` : "data dir",
    };
  });

  router.get(`${ADMIN_API_PREFIX}/box`, ...guard, async (ctx) => {
    const upstreams = new Map<string, { baseURL: string; apiKey: string | undefined; agents: string[] }>();
    for (const agent of config.agents) {
      const upstream = upstreamOf(config, agent);
      const key = upstream?.baseURL ?? "local";
      const entry = upstreams.get(key) ?? { baseURL: key, apiKey: upstream?.apiKey, agents: [] };
      entry.agents.push(agent.id);
      upstreams.set(key, entry);
    }
    const models = await Promise.all(
      [...upstreams.values()].map(async (upstream) => ({
        base_url: upstream.baseURL,
        agents: upstream.agents,
        ...(upstream.baseURL === "local" ? { ok: true, detail: "built-in local responder" } : await upstreamAnswers(upstream.baseURL, upstream.apiKey)),
      })),
    );
    const mcp = (await Promise.all(config.agents.map(async (agent) => (await deps.mcp.status(agent)).map((status) => ({ agent: agent.id, ...status }))))).flat();
    const errors = (await deps.metrics.errors.get()).values.map((value) => ({ key: String(value.labels.key), count: value.value })).sort((a, b) => b.count - a.count);
    ctx.body = {
      version: VERSION,
      uptime_seconds: Math.round((Date.now() - STARTED_AT) / 1000),
      node: process.version,
      database: store.description,
      storage: config.storage.type === "s3" ? `S3 bucket ${config.storage.bucket}` : "data dir",
      model_upstreams: models,
      mcp_servers: mcp,
      limits: config.limits,
      quotas: config.quotas,
      errors_by_key: errors,
    };
  });

  router.get("/account/api/export", deps.auth.required(), deps.sameOriginForCookies, async (ctx) => {
    const { user } = ctx.state as SignedInState;
    sendArchive(ctx, user);
  });
}
