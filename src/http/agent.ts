import { parse as parseQuery } from "node:querystring";
import type { Context, Next } from "koa";
import type { AgentConfig } from "../config/schema.ts";
import type { AppState } from "./state.ts";

/**
 * Resolves `?agent_id=` against the configured agents onto `ctx.state.agent`. The query is read
 * with node:querystring: Koa's `ctx.query` builds a URLSearchParams and defines each key as a
 * property, a few per cent of a whole list request, for the one value every request reads.
 */
export function resolveAgent(agents: readonly AgentConfig[]) {
  const byId = new Map(agents.map((agent) => [agent.id, agent]));
  return async function agentFromQuery(ctx: Context, next: Next): Promise<void> {
    const state = ctx.state as AppState;
    const query = ctx.querystring;
    const value = query ? parseQuery(query).agent_id : undefined;
    const requested = typeof value === "string" ? value : undefined;
    if (requested) {
      state.requestedAgentId = requested;
      const agent = byId.get(requested);
      if (agent) state.agent = agent;
    }
    await next();
  };
}
