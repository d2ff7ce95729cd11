import type { Context } from "koa";
import type { z } from "zod";
import { formatConfigPath } from "../config/load.ts";
import type { HandlerContext, Services } from "../handlers/context.ts";
import { routes, type Route } from "../handlers/index.ts";
import { errorOnly } from "../handlers/pipeline.ts";
import { envelopeSchema, isRequestType, requestParamSchemas, type RequestType } from "../protocol/requests.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import type { Store } from "../store/index.ts";
import { ChatkitError } from "../core/errors.ts";
import { sendEventStream } from "./sse.ts";
import type { AppState } from "./state.ts";

function invalidParams(error: z.ZodError, prefix: string[]): ChatkitError {
  const issues = error.issues.map((issue) => ({ field: formatConfigPath([...prefix, ...issue.path]), message: issue.message }));
  return new ChatkitError(400, "invalid_params", { field: issues[0]?.field, issues });
}

export interface EntryDeps {
  config: ChatkitConfig;
  store: Store;
  services: Services;
  publicBaseUrl: (ctx: Context) => string;
}

/**
 * `POST /chatkit`: parse the envelope, check the type, parse its params, dispatch to the
 * handler, answer JSON or an event stream. The only way a ChatKit request is answered.
 */
export function chatkitEntry(deps: EntryDeps) {
  return async function entry(ctx: Context): Promise<void> {
    if (ctx.request.length && !ctx.is("json", "text/plain")) throw new ChatkitError(415, "unsupported_content_type");
    const envelope = envelopeSchema.safeParse(ctx.request.body);
    if (!envelope.success) throw invalidParams(envelope.error, []);
    const { type, params } = envelope.data;
    if (!isRequestType(type) || !routes[type]) throw new ChatkitError(422, "unsupported_request", { type });
    (ctx.state as AppState).requestType = type;
    const parsed = requestParamSchemas[type].safeParse(params);
    if (!parsed.success) throw invalidParams(parsed.error, ["params"]);

    const state = ctx.state as AppState;
    // A client that goes away mid-request cancels it: streams save and stop, upstream calls abort.
    const clientGone = new AbortController();
    ctx.res.once("close", () => {
      if (!ctx.res.writableFinished) clientGone.abort();
    });
    const hc: HandlerContext = {
      owner: state.owner,
      user: state.user,
      agent: state.agent,
      config: deps.config,
      store: deps.store,
      services: deps.services,
      publicBaseUrl: deps.publicBaseUrl(ctx),
      signal: clientGone.signal,
    };
    if (state.requestedAgentId && !state.agent) throw new ChatkitError(422, "agent_required");

    const route = routes[type] as Route<RequestType>;
    if (route.kind === "json") {
      ctx.body = await route.handle(hc, parsed.data as never);
      return;
    }
    const events = await route.handle(hc, parsed.data as never).catch((error: unknown) => {
      if (error instanceof ChatkitError && error.inChat) return errorOnly(error);
      throw error;
    });
    await sendEventStream(ctx, events, {
      heartbeatMs: deps.config.server.sseHeartbeatSeconds * 1000,
      logger: deps.services.logger,
      clientGone: clientGone.signal,
    });
  };
}
