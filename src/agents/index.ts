import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
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

  private build(agent: AgentConfig): ModelRunner {
    const upstream = upstreamOf(this.config, agent);
    if (!upstream) return new LocalResponder(agent);
    const client = openaiClient(upstream, this.config);
    return new OpenAIRunner({ client, api: agent.api, idleTimeoutMs: this.config.openai.timeoutMs, attachmentParts: this.attachmentParts, vision: agent.vision });
  }
}
