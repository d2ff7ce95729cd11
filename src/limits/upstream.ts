import type { ChatkitConfig } from "../config/schema.ts";
import { ConcurrencyGate } from "./gate.ts";

/** Every upstream slot of the box is taken (`limits.upstreamConcurrency`). */
export class UpstreamBusyError extends Error {
  constructor() {
    super("too many model requests in flight (limits.upstreamConcurrency)");
    this.name = "UpstreamBusyError";
  }
}

const gates = new WeakMap<object, ConcurrencyGate>();

/** The box's one gate on model requests in flight, shared by every agent and voice input. */
export function upstreamGateFor(config: ChatkitConfig): ConcurrencyGate {
  let gate = gates.get(config);
  if (!gate) {
    gate = new ConcurrencyGate(config.limits.upstreamConcurrency);
    gates.set(config, gate);
  }
  return gate;
}
