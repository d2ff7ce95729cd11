/**
 * The load side: autocannon for request/response workloads, and a lean SSE client over node:http
 * for streamed turns (time to first delta, the text each stream carried). Always bounded: by a
 * duration or a count of turns, and each turn by a timeout.
 */
import autocannon from "autocannon";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { Launched } from "./processes.ts";

export interface HttpCall {
  path: string;
  body: string;
  headers: Record<string, string>;
}

export interface Throughput {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  failed: number;
  /** Server CPU time per completed request, from inside the server. */
  cpuMicrosPerRequest: number;
}

/** A warm-up, then `seconds` of `connections` keep-alive connections asking as fast as answered. */
export async function hammer(target: Launched, call: HttpCall, options: { seconds: number; warmupSeconds: number; connections: number }): Promise<Throughput> {
  const base = { url: `${target.url}${call.path}`, method: "POST", headers: call.headers, body: call.body, connections: options.connections, timeout: 30 };
  if (options.warmupSeconds > 0) await autocannon({ ...base, duration: options.warmupSeconds });
  const before = await target.stats();
  const result = await autocannon({ ...base, duration: options.seconds });
  const after = await target.stats();
  const completed = result["2xx"];
  return {
    requestsPerSecond: completed / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    completed,
    failed: result.non2xx + result.errors + result.timeouts,
    cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(1, completed),
  };
}

export interface TurnResult {
  /** Request sent to first text delta, in ms (NaN when none came). */
  firstDeltaMs: number;
  totalMs: number;
  /** The text deltas joined. */
  streamed: string;
  /** The assistant message's text in its `thread.item.done`, if one came. */
  done: string | undefined;
  error: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** POSTs one streamed request and reads its SSE answer to the end. */
export function streamTurn(url: string, call: HttpCall, timeoutMs = 120_000): Promise<TurnResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const result: TurnResult = { firstDeltaMs: NaN, totalMs: NaN, streamed: "", done: undefined, error: undefined };
    const finish = (error?: string) => {
      clearTimeout(timer);
      result.totalMs = performance.now() - started;
      result.error ??= error;
      resolve(result);
    };
    const { hostname, port } = new URL(url);
    const req = request({ agent, hostname, port, method: "POST", path: call.path, headers: { ...call.headers, "content-length": Buffer.byteLength(call.body) } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on("end", () => finish(`HTTP ${res.statusCode}`));
        return;
      }
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let boundary = buffer.indexOf("\n\n");
        while (boundary !== -1) {
          readEvent(buffer.slice(0, boundary), result, started);
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf("\n\n");
        }
      });
      res.on("end", () => finish(buffer.trim() ? "stream ended inside an event" : undefined));
      res.on("error", (error) => finish(error.message));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no end within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (error) => finish(error.message));
    req.end(call.body);
  });
}

function readEvent(block: string, result: TurnResult, started: number): void {
  for (const line of block.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const event = JSON.parse(line.slice(5));
    if (event.type === "thread.item.updated" && event.update?.type === "assistant_message.content_part.text_delta") {
      if (Number.isNaN(result.firstDeltaMs)) result.firstDeltaMs = performance.now() - started;
      result.streamed += event.update.delta;
    } else if (event.type === "thread.item.done" && event.item?.type === "assistant_message") {
      result.done = event.item.content.map((part: { text: string }) => part.text).join("");
    } else if (event.type === "error") {
      result.error ??= `error event: ${event.code ?? event.message ?? "?"}`;
    }
  }
}

/**
 * The user message of turn `n`: `words` words, so the echoing fake model answers
 * "Echo: <message>" in `words + 1` deltas, and every turn's answer differs from every other's.
 */
export function turnMessage(n: number, words: number): string {
  return Array.from({ length: words }, (_, w) => `t${n}w${w}`).join(" ");
}

export const expectedAnswer = (message: string) => `Echo: ${message}`;

export interface TurnsSummary {
  turns: number;
  exact: number;
  /** Turns whose connection the server's side reset (e.g. never accepted from a full listen queue). */
  resets: number;
  /** The first few failures, described. */
  failures: string[];
  firstDelta: { p50: number; p99: number };
  wallMs: number;
  /** Server CPU time per turn, from inside the server. */
  cpuMicrosPerTurn: number;
}

/**
 * Runs streamed turns from `concurrency` workers. Each worker starts after `i * staggerMs / concurrency`
 * ms (spreading arrivals over one stream's length) and keeps starting turns until `turns` have
 * started or `untilMs` has passed.
 */
export async function runTurns(
  target: Launched,
  makeCall: (n: number) => { call: HttpCall; expected: string },
  options: { concurrency: number; turns?: number; untilMs?: number; staggerMs?: number; timeoutMs?: number },
): Promise<TurnsSummary> {
  const before = await target.stats();
  const started = performance.now();
  const deadline = options.untilMs === undefined ? Infinity : started + options.untilMs;
  const limit = options.turns ?? Infinity;
  let next = 0;
  const firstDeltas: number[] = [];
  const failures: string[] = [];
  let exact = 0;
  let resets = 0;
  const worker = async (index: number) => {
    if (options.staggerMs) await new Promise((resolve) => setTimeout(resolve, (index * options.staggerMs!) / options.concurrency));
    while (next < limit && performance.now() < deadline) {
      const { call, expected } = makeCall(next++);
      const turn = await streamTurn(target.url, call, options.timeoutMs);
      if (!Number.isNaN(turn.firstDeltaMs)) firstDeltas.push(turn.firstDeltaMs);
      if (!turn.error && turn.streamed === expected && turn.done === expected) {
        exact++;
        continue;
      }
      if (turn.error?.includes("ECONNRESET")) resets++;
      if (failures.length < 5) {
        failures.push(turn.error ? `${turn.error} after ${turn.totalMs.toFixed(0)} ms` : `text differs: streamed ${JSON.stringify(turn.streamed.slice(0, 60))}…, done ${JSON.stringify(turn.done?.slice(0, 60))}…`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  const wallMs = performance.now() - started;
  const after = await target.stats();
  firstDeltas.sort((a, b) => a - b);
  return {
    turns: next,
    exact,
    resets,
    failures,
    firstDelta: { p50: percentile(firstDeltas, 50), p99: percentile(firstDeltas, 99) },
    wallMs,
    cpuMicrosPerTurn: (after.cpuMicros - before.cpuMicros) / Math.max(1, next),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
