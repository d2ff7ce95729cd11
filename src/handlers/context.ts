import type { ChatkitConfig, AgentConfig } from "../config/schema.ts";
import { ChatkitError, invalidField } from "../core/errors.ts";
import { isHiddenItem, type ThreadItem } from "../protocol/items.ts";
import type { Owner, Store, ThreadRow, UserRow } from "../store/index.ts";
import type { AttachmentService } from "../attachments/service.ts";
import type { Logger } from "../core/logger.ts";
import type { RunnerRegistry } from "../agents/index.ts";
import type { McpRegistry } from "../mcp/registry.ts";
import type { UpstreamGate } from "../limits/upstream.ts";
import type { Metrics } from "../metrics/index.ts";
import type { ToolRegistry } from "../tools/run.ts";

/** Long-lived collaborators, built once per app (by the composition root, server/services.ts). */
export interface Services {
  attachments: AttachmentService;
  runners: RunnerRegistry;
  mcp: McpRegistry;
  /** The config's tools as the tool loop takes them. */
  tools: ToolRegistry;
  /** The box's gate on model requests in flight. */
  upstream: UpstreamGate;
  metrics: Metrics;
}

/** Everything a handler may use for one request; built once by the entry route. */
export interface HandlerContext {
  owner: Owner;
  user: UserRow;
  /** The agent named by `?agent_id=`, if any. */
  agent: AgentConfig | undefined;
  config: ChatkitConfig;
  store: Store;
  services: Services;
  /** Absolute base URL of this server as the client reaches it, for URLs we hand out. */
  publicBaseUrl: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** This request's logger: its lines name the request id. */
  log: Logger;
}

/** The named agent, or 422 agent_required (threads.create and threads.list need one). */
export function requireAgent(hc: HandlerContext): AgentConfig {
  if (!hc.agent) throw new ChatkitError(422, "agent_required");
  return hc.agent;
}

/** The caller's thread (within the named agent, when one is named), or 404 as if it did not exist. */
export async function requireThread(hc: HandlerContext, threadId: string): Promise<ThreadRow> {
  const thread = await hc.store.threads.get(hc.owner, threadId, hc.agent?.id);
  if (!thread) throw new ChatkitError(404, "thread_not_found");
  return thread;
}

/**
 * An item of the thread, of the type the request needs: 404 when it does not exist (or is not
 * the caller's), 400 naming `params.item_id` when it is another kind of item.
 */
export async function requireItem<T extends ThreadItem["type"]>(hc: HandlerContext, thread: ThreadRow, itemId: string, type: T): Promise<Extract<ThreadItem, { type: T }>> {
  const item = await hc.store.items.get(hc.owner, thread.id, itemId);
  if (!item || isHiddenItem(item)) throw new ChatkitError(404, "item_not_found");
  if (item.type !== type) throw invalidField("params.item_id", `must be a ${type} item`);
  return item as Extract<ThreadItem, { type: T }>;
}

/** The agent a thread was created with; falls back to the first agent if the config dropped it. */
export function agentOfThread(hc: HandlerContext, thread: ThreadRow): AgentConfig {
  return hc.config.agents.find((agent) => agent.id === thread.agent_id) ?? (hc.config.agents[0] as AgentConfig);
}
