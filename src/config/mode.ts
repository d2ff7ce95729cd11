import type { AgentConfig, ChatkitConfig } from "./schema.ts";

/**
 * Which backend the chat pages talk to: ours (self-hosted, the default), or OpenAI's with a client
 * secret (hosted: a workflow to mint per-user secrets for, or the seed's static secret).
 */
export type ChatkitMode =
  | { kind: "self-hosted" }
  | { kind: "hosted"; secret: "workflow"; workflowId: string }
  | { kind: "hosted"; secret: "static" };

export function chatkitMode(config: ChatkitConfig): ChatkitMode {
  if (config.chatkit.workflowId) return { kind: "hosted", secret: "workflow", workflowId: config.chatkit.workflowId };
  if (config.chatkit.clientSecret) return { kind: "hosted", secret: "static" };
  return { kind: "self-hosted" };
}

/** Where an agent's answers come from: the built-in local responder when no API key reaches it. */
export type AgentUpstream = { kind: "local" } | { kind: "model"; baseURL: string; model: string; api: AgentConfig["api"] };

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";

export function agentUpstream(config: ChatkitConfig, agent: AgentConfig): AgentUpstream {
  if (!(agent.apiKey ?? config.openai.apiKey)) return { kind: "local" };
  return { kind: "model", baseURL: agent.baseURL ?? config.openai.baseURL ?? DEFAULT_OPENAI_BASE_URL, model: agent.model, api: agent.api };
}
