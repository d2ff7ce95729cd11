import { ChatkitError } from "../core/errors.ts";
import { ConcurrencyGate } from "./gate.ts";

/**
 * The box's one gate on model requests in flight (`limits.upstreamConcurrency`), shared by every
 * agent, titles and voice input. A slot is taken before a request is handed to the `openai`
 * client (never inside it: the client would retry the refusal) and held until its answer ended.
 */
export class UpstreamGate extends ConcurrencyGate {
  /** Whether every slot is taken now: a request that would call the model is refused up front. */
  get full(): boolean {
    return this.inUse >= this.max;
  }

  /** A slot's release function (safe to call twice), or 429 `upstream_busy` when every slot is taken. */
  acquire(): () => void {
    const release = this.tryAcquire();
    if (!release) throw upstreamBusy();
    return release;
  }
}

/** Every upstream slot of the box is taken; retryable in a moment. */
export const upstreamBusy = () => new ChatkitError(429, "upstream_busy", { retry_after: 1 }, { allowRetry: true });
