import OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import type { Metrics } from "../metrics/index.ts";
import { upstreamFetch } from "./upstream-fetch.ts";

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";

/** An OpenAI-compatible endpoint an agent talks to. */
export interface Upstream {
  apiKey: string | undefined;
  baseURL: string;
}

/**
 * The upstream an agent (or, without one, the config's `openai` section) talks to; undefined
 * means the built-in local responder answers. A base URL alone is enough: local servers such as
 * Ollama need no key. The one rule for the runner, voice input, and what operators are told.
 */
export function upstreamOf(config: ChatkitConfig, agent: AgentConfig | undefined): Upstream | undefined {
  const apiKey = agent?.apiKey ?? config.openai.apiKey;
  const baseURL = agent?.baseURL ?? config.openai.baseURL;
  if (!apiKey && !baseURL) return undefined;
  return { apiKey, baseURL: baseURL ?? DEFAULT_OPENAI_BASE_URL };
}

/** One line for logs and operator commands: where an agent's answers come from. */
export function describeUpstream(config: ChatkitConfig, agent: AgentConfig): string {
  if (agent.respond) return "its respond function (code in the config)";
  const upstream = upstreamOf(config, agent);
  const model = agent.sdkAgent ? `Agents SDK agent "${agent.sdkAgent.name}"` : agent.model;
  if (upstream) return `${model} via ${agent.api} at ${upstream.baseURL}`;
  return agent.sdkAgent ? `${model}, which cannot answer: no API key or base URL configured` : "built-in local responder (no API key or base URL configured)";
}

/** An `openai` client for an upstream; every client of ours is built here. */
export function openaiClient(upstream: Upstream, config: ChatkitConfig, metrics: Metrics, options: { maxRetries?: number; timeoutMs?: number } = {}): OpenAI {
  return new OpenAI({
    // Keyless local servers still get a header; the client refuses to start without one.
    apiKey: upstream.apiKey ?? "no-key",
    baseURL: upstream.baseURL,
    timeout: options.timeoutMs ?? config.openai.timeoutMs,
    maxRetries: options.maxRetries ?? config.openai.maxRetries,
    // node:http with keep-alive, timed. Callers take an upstream slot (UpstreamGate) before asking the client.
    fetch: upstreamFetch(metrics),
  });
}
