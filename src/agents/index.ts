import type OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import type { UpstreamGate } from "../limits/upstream.ts";
import type { Metrics } from "../metrics/index.ts";
import { LocalResponder } from "./local-responder.ts";
import { OpenAIRunner, type AttachmentParts } from "./openai-runner.ts";
import type { ModelRunner } from "./runner.ts";
import { openaiClient, upstreamOf } from "./upstream.ts";

/** One runner (and `openai` client) per agent, built once so upstream connections are reused. */
export class RunnerRegistry {
  private readonly runners = new Map<string, ModelRunner>();
  private readonly clients = new Map<string, OpenAI | undefined>();

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

  /** The agent's `openai` client, undefined without an upstream: Agents SDK agents run through it. */
  clientFor(agent: AgentConfig): OpenAI | undefined {
    if (!this.clients.has(agent.id)) {
      const upstream = upstreamOf(this.config, agent);
      this.clients.set(agent.id, upstream && openaiClient(upstream, this.config, this.upstream.metrics));
    }
    return this.clients.get(agent.id);
  }

  /** One of the box's upstream slots (its release function), or 429 `upstream_busy`, counted. */
  readonly acquireSlot = (): (() => void) => {
    const { gate, metrics } = this.upstream;
    if (gate.full) metrics.limitRefusals.inc({ limit: "upstream_busy" });
    return gate.acquire();
  };

  private build(agent: AgentConfig): ModelRunner {
    const client = this.clientFor(agent);
    if (!client) return new LocalResponder(agent);
    return new OpenAIRunner({
      client,
      api: agent.api,
      idleTimeoutMs: this.config.openai.timeoutMs,
      attachmentParts: this.attachmentParts,
      vision: agent.vision,
      acquireSlot: this.acquireSlot,
    });
  }
}
