import { performance } from "node:perf_hooks";
import type { ChatkitConfig } from "../config/schema.ts";
import { metricsFor } from "../metrics/index.ts";
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

/** Statuses whose responses may not carry a body (the Response constructor refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * The `fetch` every `openai` client of ours uses: it holds one of the box's upstream slots from
 * the request until the answer's body has ended (or was cancelled), refuses at once when none is
 * free, and records upstream latency.
 */
export function gatedFetch(config: ChatkitConfig): typeof fetch {
  const gate = upstreamGateFor(config);
  const metrics = metricsFor(config);
  return async (input, init) => {
    const release = gate.tryAcquire();
    if (!release) {
      metrics.limitRefusals.inc({ limit: "upstream_busy" });
      throw new UpstreamBusyError();
    }
    metrics.upstreamInFlight.inc();
    const started = performance.now();
    let finished = false;
    const finish = (outcome: string) => {
      if (finished) return;
      finished = true;
      release();
      metrics.upstreamInFlight.dec();
      metrics.upstreamDuration.observe({ outcome }, (performance.now() - started) / 1000);
      init?.signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => finish("aborted");
    init?.signal?.addEventListener("abort", onAbort, { once: true });

    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      finish("error");
      throw error;
    }
    metrics.upstreamFirstByte.observe((performance.now() - started) / 1000);
    const outcome = String(response.status);
    if (!response.body || NO_BODY.has(response.status)) {
      finish(outcome);
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await reader.read();
          if (next.done) {
            finish(outcome);
            controller.close();
          } else {
            controller.enqueue(next.value);
          }
        } catch (error) {
          finish("error");
          controller.error(error);
        }
      },
      cancel(reason) {
        finish(outcome);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
