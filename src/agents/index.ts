import type OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import { metricsFor } from "../metrics/index.ts";
import { LocalResponder } from "./local-responder.ts";
import { OpenAIRunner, type AttachmentParts } from "./openai-runner.ts";
import type { ModelRunner } from "./runner.ts";
import { openaiClient, upstreamOf } from "./upstream.ts";

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

  private readonly clients = new Map<string, OpenAI | undefined>();

  /** The agent's `openai` client (undefined without an upstream), built once: Agents SDK agents run through it. */
  clientFor(agent: AgentConfig): OpenAI | undefined {
    if (!this.clients.has(agent.id)) {
      const upstream = upstreamOf(this.config, agent);
      this.clients.set(agent.id, upstream && openaiClient(upstream, this.config));
    }
    return this.clients.get(agent.id);
  }

  private build(agent: AgentConfig): ModelRunner {
    const client = this.clientFor(agent);
    if (!client) return new LocalResponder(agent);
    const metrics = metricsFor(this.config);
    return new OpenAIRunner({ client, api: agent.api, idleTimeoutMs: this.config.openai.timeoutMs, attachmentParts: this.attachmentParts, vision: agent.vision, onUsage: (usage) => metrics.recordUsage(usage) });
  }
}
