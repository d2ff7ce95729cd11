import OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import { LocalResponder } from "./local-responder.ts";
import { OpenAIRunner, type AttachmentParts } from "./openai-runner.ts";
import type { ModelRunner } from "./runner.ts";

const DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** The upstream an agent talks to, or undefined when it answers with the local responder. */
export function upstreamOf(agent: AgentConfig, config: ChatkitConfig): { apiKey: string | undefined; baseURL: string } | undefined {
  const apiKey = agent.apiKey ?? config.openai.apiKey;
  const baseURL = agent.baseURL ?? config.openai.baseURL;
  // A base URL alone is enough: local servers such as Ollama need no key.
  if (!apiKey && !baseURL) return undefined;
  return { apiKey, baseURL: baseURL ?? DEFAULT_BASE_URL };
}

/** One runner per agent, built once so upstream connections are reused. */
export class RunnerRegistry {
  private readonly runners = new Map<string, ModelRunner>();

  constructor(
    private readonly config: ChatkitConfig,
    private readonly attachmentParts: AttachmentParts,
  ) {}

  forAgent(agent: AgentConfig): ModelRunner {
    let runner = this.runners.get(agent.id);
    if (!runner) {
      runner = this.build(agent);
      this.runners.set(agent.id, runner);
    }
    return runner;
  }

  private build(agent: AgentConfig): ModelRunner {
    const upstream = upstreamOf(agent, this.config);
    if (!upstream) return new LocalResponder(agent);
    const client = new OpenAI({
      apiKey: upstream.apiKey ?? "no-key",
      baseURL: upstream.baseURL,
      maxRetries: this.config.openai.maxRetries,
      timeout: this.config.openai.timeoutMs,
    });
    return new OpenAIRunner({ client, api: agent.api, idleTimeoutMs: this.config.openai.timeoutMs, attachmentParts: this.attachmentParts });
  }
}
