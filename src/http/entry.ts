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
import { JsonText } from "../protocol/serialize.ts";
import { sendEventStream } from "./sse.ts";
import type { AppState } from "./state.ts";
import { KeyedGate } from "../limits/gate.ts";
import { upstreamBusy } from "../limits/upstream.ts";

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

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * Requests that call the model upstream: refused up front while every upstream slot is taken, so
 * a turn that cannot be answered stores nothing. The slot itself is taken before each upstream
 * request (`UpstreamGate.acquire`); a race lost there ends the stream with the same refusal.
 */
const CALLS_UPSTREAM = (type: RequestType, kind: "json" | "stream") => kind === "stream" || type === "input.transcribe";

/**
 * What a handler gets for one request. A class, not an object literal with getters: V8 builds
 * such a literal outside the young generation, and from there it kept everything the request
 * made alive through minor GCs, so each request's objects were promoted to the old generation
 * (about a quarter of all a request allocated, against 2% now), growing the heap between full
 * collections and costing copying time.
 */
class RequestHandlerContext implements HandlerContext {
  readonly owner: HandlerContext["owner"];
  readonly user: HandlerContext["user"];
  readonly agent: HandlerContext["agent"];
  readonly config: ChatkitConfig;
  readonly store: Store;
  readonly services: Services;
  readonly log: HandlerContext["log"];
  #publicBaseUrl: string | undefined;
  #clientGone: AbortController | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly deps: EntryDeps,
    state: AppState,
  ) {
    this.owner = state.owner;
    this.user = state.user;
    this.agent = state.agent;
    this.config = deps.config;
    this.store = deps.store;
    this.services = deps.services;
    this.log = state.log;
  }

  get publicBaseUrl(): string {
    return (this.#publicBaseUrl ??= this.deps.publicBaseUrl(this.ctx));
  }

  /**
   * A client that goes away mid-request cancels it: streams save and stop, upstream calls
   * abort. Made when first asked for (like the base URL): most requests never need it.
   */
  get signal(): AbortSignal {
    if (!this.#clientGone) {
      const controller = (this.#clientGone = new AbortController());
      const { res } = this.ctx;
      if (res.destroyed && !res.writableFinished) controller.abort();
      res.once("close", () => {
        if (!res.writableFinished) controller.abort();
      });
    }
    return this.#clientGone.signal;
  }
}

/**
 * `POST /chatkit`: parse the envelope, check the type, parse its params, dispatch to the
 * handler, answer JSON or an event stream. The only way a ChatKit request is answered.
 */
export function chatkitEntry(deps: EntryDeps) {
  const streamsPerUser = new KeyedGate(deps.config.limits.streamsPerUser);
  const { upstream, metrics } = deps.services;
  return async function entry(ctx: Context): Promise<void> {
    const envelope = envelopeSchema.safeParse(ctx.request.body);
    if (!envelope.success) throw invalidParams(envelope.error, []);
    const { type, params } = envelope.data;
    if (!isRequestType(type) || !routes[type]) throw new ChatkitError(422, "unsupported_request", { type });
    (ctx.state as AppState).requestType = type;
    const parsed = requestParamSchemas[type].safeParse(params);
    if (!parsed.success) throw invalidParams(parsed.error, ["params"]);

    const state = ctx.state as AppState;
    const hc = new RequestHandlerContext(ctx, deps, state);
    if (state.requestedAgentId && !state.agent) throw new ChatkitError(422, "agent_required");

    const route = routes[type] as Route<RequestType>;
    if (CALLS_UPSTREAM(type, route.kind) && upstream.full) throw upstreamBusy();
    if (route.kind === "json") {
      // Serialised here, inside the error middleware's reach (a value that cannot be serialised
      // is its logged 500), and set once as text: cheaper for Koa than an object body.
      const answer = await route.handle(hc, parsed.data as never);
      ctx.set("Content-Type", JSON_TYPE);
      ctx.body = answer instanceof JsonText ? answer.text : JSON.stringify(answer);
      return;
    }
    // Counted before anything is stored, so a refused turn leaves no trace.
    const releaseStream = streamsPerUser.tryAcquire(state.user.id);
    if (!releaseStream) throw new ChatkitError(429, "too_many_streams", { retry_after: 5, max_streams: streamsPerUser.max });
    try {
      const events = await route.handle(hc, parsed.data as never).catch((error: unknown) => {
        if (error instanceof ChatkitError && error.inChat) return errorOnly(error);
        throw error;
      });
      metrics.openStreams.inc();
      try {
        await sendEventStream(ctx, events, {
          heartbeatMs: deps.config.server.sseHeartbeatSeconds * 1000,
          logger: state.log,
          clientGone: hc.signal,
          onError: () => metrics.errors.inc({ key: "stream_error" }),
        });
      } finally {
        metrics.openStreams.dec();
      }
    } finally {
      releaseStream();
    }
  };
}
