import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import type { UpstreamGate } from "../limits/upstream.ts";
import type { Metrics } from "../metrics/index.ts";
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
    private readonly upstream: { gate: UpstreamGate; metrics: Metrics },
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
    const { gate, metrics } = this.upstream;
    const client = openaiClient(upstream, this.config, metrics);
    return new OpenAIRunner({
      client,
      api: agent.api,
      idleTimeoutMs: this.config.openai.timeoutMs,
      attachmentParts: this.attachmentParts,
      vision: agent.vision,
      acquireSlot: () => {
        if (gate.full) metrics.limitRefusals.inc({ limit: "upstream_busy" });
        return gate.acquire();
      },
      onUsage: (usage) => metrics.recordUsage(usage),
    });
  }
}
