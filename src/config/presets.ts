import type { z } from "zod";
import type { agentSchema } from "./schema.ts";

type AgentInput = z.input<typeof agentSchema>;

/** The OpenAI-compatible address each local model server listens on by default. */
export const LOCAL_MODEL_SERVERS = {
  ollama: "http://127.0.0.1:11434/v1",
  vllm: "http://127.0.0.1:8000/v1",
  "llama.cpp": "http://127.0.0.1:8080/v1",
  "lm-studio": "http://127.0.0.1:1234/v1",
} as const;

export type LocalModelServer = keyof typeof LOCAL_MODEL_SERVERS;

/**
 * An agent for a model on a local server: Chat Completions (the API they all speak), that
 * server's default address (no key needed), and text only (attached pictures named in text;
 * `vision: true` for a model that sees). Every other key is an agent's own, and wins.
 *
 * @example
 * agents: [localModelAgent({ id: "local", name: "Llama", model: "llama3.2", server: "ollama" })]
 */
export function localModelAgent({ server = "ollama", ...agent }: Omit<AgentInput, "api"> & { server?: LocalModelServer }): AgentInput {
  return { api: "chat_completions", baseURL: LOCAL_MODEL_SERVERS[server], vision: false, ...agent };
}
