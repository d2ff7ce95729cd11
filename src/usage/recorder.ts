import { ChatkitError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../metrics/index.ts";
import type { UsageKind, UsageOutcome, UsageStore } from "../store/index.ts";
import type { UsageMeter } from "./meter.ts";

/** How a metered piece of work ended, with why when it failed. */
export interface UsageEnd {
  outcome: UsageOutcome;
  error: string | null;
}

/** A failure as a usage row names it: the error key, or the upstream's message. */
export function failureReason(error: unknown): string {
  if (error instanceof ChatkitError) return error.key;
  return ((error as Error)?.message ?? String(error)).slice(0, 500);
}

export interface UsageSubject {
  kind: UsageKind;
  userId: string;
  agentId: string;
  model: string;
  threadId: string | null;
}

/**
 * Writes usage rows (one insert and its totals, once the work ended) and counts the tokens in
 * `/metrics`. A row that cannot be written is logged, never fails the turn it describes.
 */
export class UsageRecorder {
  constructor(
    private readonly store: UsageStore,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async record(subject: UsageSubject, meter: UsageMeter, end: UsageEnd): Promise<void> {
    const reported = meter.reportedCalls > 0;
    const tokens = (value: number) => (reported ? value : null);
    try {
      await this.store.record({
        user_id: subject.userId,
        agent_id: subject.agentId,
        model: subject.model,
        thread_id: subject.threadId,
        kind: subject.kind,
        started_at: meter.startedAt,
        duration_ms: Math.max(0, Date.now() - meter.startedAt),
        model_calls: meter.modelCalls,
        reported_calls: meter.reportedCalls,
        input_tokens: tokens(meter.tokens.input),
        output_tokens: tokens(meter.tokens.output),
        reasoning_tokens: tokens(meter.tokens.reasoning),
        cached_tokens: tokens(meter.tokens.cached),
        tool_calls: meter.toolCalls,
        mcp_calls: meter.mcpCalls,
        outcome: end.outcome,
        error: end.error,
      });
    } catch (error) {
      this.logger.error(`could not record the usage of a ${subject.kind} for user ${subject.userId}`, error);
    }
    if (meter.tokens.input > 0) this.metrics.tokens.inc({ kind: "input" }, meter.tokens.input);
    if (meter.tokens.output > 0) this.metrics.tokens.inc({ kind: "output" }, meter.tokens.output);
  }
}
