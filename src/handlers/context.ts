import type { ChatkitConfig, AgentConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { Owner, Store, ThreadRow, UserRow } from "../store/index.ts";
import type { AttachmentService } from "../attachments/service.ts";
import type { Logger } from "../core/logger.ts";
import type { RunnerRegistry } from "../agents/index.ts";

/** Long-lived collaborators, built once per app. */
export interface Services {
  attachments: AttachmentService;
  logger: Logger;
  runners: RunnerRegistry;
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

/** The agent a thread was created with; falls back to the first agent if the config dropped it. */
export function agentOfThread(hc: HandlerContext, thread: ThreadRow): AgentConfig {
  return hc.config.agents.find((agent) => agent.id === thread.agent_id) ?? (hc.config.agents[0] as AgentConfig);
}
