/**
 * Time the server adds to the first token: for each turn, the time to the first text delta
 * through POST /chatkit (threads.create, real SSE) minus the time to the first delta straight
 * from the same fake upstream through the openai client. Interleaved, same run.
 *
 *   npm run bench            (TURNS=500 npm run bench for more)
 */
import { performance } from "node:perf_hooks";
import OpenAI from "openai";
import { startTestServer, TEST_AGENT } from "../test/support/app.ts";
import { userInput } from "../test/support/client.ts";
import { startFakeOpenAI } from "../test/support/fake-openai.ts";
import { readSse } from "../test/support/sse.ts";

const TURNS = Number(process.env.TURNS ?? 200);
const WARMUP = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const fake = await startFakeOpenAI({ text: "Hello there, this is the first token and a few more." });
const server = await startTestServer({
  config: { agents: [TEST_AGENT], openai: { apiKey: "sk-bench", baseURL: fake.baseURL, maxRetries: 0 }, server: { sseHeartbeatSeconds: 0 } },
});
const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fake.baseURL, maxRetries: 0 });
const token = await server.token("bench@example.com");

async function firstDeltaDirect(): Promise<number> {
  const started = performance.now();
  const stream = await direct.responses.create({ model: TEST_AGENT.model, input: "hi", stream: true });
  let first = NaN;
  for await (const event of stream) {
    if (event.type === "response.output_text.delta" && Number.isNaN(first)) first = performance.now() - started;
  }
  return first;
}

const toUpstream: number[] = [];
async function firstDeltaThroughServer(): Promise<number> {
  const started = performance.now();
  const upstreamIndex = fake.requests.length;
  const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ type: "threads.create", params: { input: userInput("hi") } }),
  });
  let first = NaN;
  for await (const event of readSse(response)) {
    if (event.update?.type === "assistant_message.content_part.text_delta" && Number.isNaN(first)) first = performance.now() - started;
  }
  toUpstream.push(fake.requests[upstreamIndex]!.receivedAt - started);
  return first;
}

const directTimes: number[] = [];
const serverTimes: number[] = [];
for (let i = 0; i < TURNS + WARMUP; i++) {
  const d = await firstDeltaDirect();
  const s = await firstDeltaThroughServer();
  if (i >= WARMUP) {
    directTimes.push(d);
    serverTimes.push(s);
  }
}
directTimes.sort((a, b) => a - b);
serverTimes.sort((a, b) => a - b);
const row = (p: number) => ({
  direct: percentile(directTimes, p),
  server: percentile(serverTimes, p),
  added: percentile(serverTimes, p) - percentile(directTimes, p),
});
const p50 = row(50);
const p99 = row(99);
const ms = (n: number) => `${n.toFixed(2)} ms`;
console.log(`first-token latency over ${TURNS} turns (node ${process.version})`);
console.log(`p50: direct ${ms(p50.direct)}, through server ${ms(p50.server)}, added ${ms(p50.added)} (target < 3 ms)`);
console.log(`p99: direct ${ms(p99.direct)}, through server ${ms(p99.server)}, added ${ms(p99.added)} (target < 15 ms)`);
toUpstream.splice(0, WARMUP);
toUpstream.sort((a, b) => a - b);
console.log(`request to upstream call: p50 ${ms(percentile(toUpstream, 50))}, p99 ${ms(percentile(toUpstream, 99))}`);
await server.close({ removeData: true });
await fake.close();
