/** Tokens one model call used, as the upstream reported them; cached and reasoning tokens are part of input and output. */
export interface TokenUsage {
  input: number;
  output: number;
  reasoning: number;
  cached: number;
}

/**
 * What one turn (or title, or transcription) used, counted as it runs: model calls and which of
 * them reported usage, the reported tokens summed, tool and MCP calls. Plain counters, so the
 * hot path pays an addition per event; the row is written once, when the turn ends.
 */
export class UsageMeter {
  readonly startedAt = Date.now();
  modelCalls = 0;
  reportedCalls = 0;
  readonly tokens: TokenUsage = { input: 0, output: 0, reasoning: 0, cached: 0 };
  toolCalls = 0;
  mcpCalls = 0;

  modelCall(): void {
    this.modelCalls++;
  }

  reported(usage: TokenUsage): void {
    this.reportedCalls++;
    this.tokens.input += usage.input;
    this.tokens.output += usage.output;
    this.tokens.reasoning += usage.reasoning;
    this.tokens.cached += usage.cached;
  }

  toolCall(viaMcp: boolean): void {
    this.toolCalls++;
    if (viaMcp) this.mcpCalls++;
  }
}
