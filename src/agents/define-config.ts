import type { ChatkitConfigInput } from "../config/schema.ts";
import type { RespondFunction } from "./respond-function.ts";

type AgentInput = ChatkitConfigInput["agents"][number];

/** An agent as a config file writes it: `respond` typed with the turn it receives. */
export type AgentDefinition = Omit<AgentInput, "respond"> & { respond?: RespondFunction | undefined };

/** A config file's contents, typed so editors complete and check every key. */
export type ConfigDefinition = Omit<ChatkitConfigInput, "agents"> & { agents: AgentDefinition[] };

/**
 * Types a config file so editors complete and check its keys (a `respond` function's turn included).
 *
 * @example
 * export default defineConfig({ agents: [{ id: "assistant", name: "Assistant", model: "gpt-4.1-mini" }] });
 */
export function defineConfig(config: ConfigDefinition): ChatkitConfigInput {
  return config;
}
