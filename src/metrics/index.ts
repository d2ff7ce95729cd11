import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The box's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * several apps in one process (tests, host apps) never share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "chatkit_requests_total",
    help: "HTTP requests answered, by ChatKit request type (or route) and status",
    labelNames: ["type", "status"] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: "chatkit_request_duration_seconds",
    help: "Time to answer a request (streams: until the stream ended), by ChatKit request type (or route)",
    labelNames: ["type"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly openStreams = new Gauge({
    name: "chatkit_open_streams",
    help: "Event streams open right now",
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: "chatkit_upstream_request_duration_seconds",
    help: "Model upstream requests: time until the answer ended, by outcome (HTTP status, or error)",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamFirstByte = new Histogram({
    name: "chatkit_upstream_time_to_headers_seconds",
    help: "Model upstream requests: time until the response headers arrived",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamInFlight = new Gauge({
    name: "chatkit_upstream_in_flight",
    help: "Model upstream requests in flight",
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: "chatkit_tokens_total",
    help: "Tokens the upstream reported using, by kind (input or output)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "chatkit_errors_total",
    help: "Requests refused or failed, by error key; stream error events count as key stream_error",
    labelNames: ["key"] as const,
    registers: [this.registry],
  });
  readonly limitRefusals = new Counter({
    name: "chatkit_limit_refusals_total",
    help: "Requests refused by a limit (limits.* in the config), by error key",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly authEvents = new Counter({
    name: "chatkit_auth_events_total",
    help: "Sign-ins, failed sign-ins and admin actions (invitations, role changes, disables…), by event",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });

  private processMetrics = false;

  /** Adds the process's own metrics (memory, CPU, event-loop delay, GC); only once `/metrics` is served. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry, prefix: "chatkit_" });
  }

  recordUsage(usage: { input: number; output: number }): void {
    if (usage.input > 0) this.tokens.inc({ kind: "input" }, usage.input);
    if (usage.output > 0) this.tokens.inc({ kind: "output" }, usage.output);
  }
}

/** Error keys that mean a configured limit refused the request. */
export const LIMIT_KEYS = new Set([
  "payload_too_large",
  "json_too_deep",
  "string_too_long",
  "too_many_streams",
  "upstream_busy",
  "too_many_failed_attempts",
  "file_too_large",
]);
