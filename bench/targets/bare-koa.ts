/**
 * The baseline: a bare Koa 3 app with no auth, store or validation.
 *  - `POST /chatkit` answers the bytes the driver last sent over IPC (`{ answer }`), so a
 *    non-streamed workload compares the same response against the floor the framework sets;
 *  - `POST /sse` answers a turn with the bytes a model turn streams, paced as the fake upstream
 *    paces them (the driver sends the same `{ script }` to both), without any upstream: the floor
 *    for time to first delta and for the CPU a streamed turn costs;
 *  - `POST /relay` relays the turn from the upstream through the `openai` client: the least a
 *    streaming relay on that client must do, to tell the client's share of a turn's cost;
 *  - `POST /http-relay` relays the same upstream with `node:http` and the SSE stream split by
 *    hand: the streaming ceiling, what relaying a model costs with nothing else on the way.
 */
import Router from "@koa/router";
import type Koa from "koa";
import { Agent, request, type IncomingMessage } from "node:http";
import OpenAI from "openai";
import type { Script } from "../../test/support/fake-openai.ts";
import { readBody, serve } from "./serve.ts";

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
const model = process.env.BENCH_MODEL ?? "bench-model";
let answer = Buffer.from("{}");
let script: Pick<Script, "delayMs" | "firstChunkDelayMs"> = {};

process.on("message", (message: { answer?: string; script?: Script }) => {
  if (message.answer !== undefined) answer = Buffer.from(message.answer);
  if (message.script !== undefined) script = message.script;
  if (message.answer !== undefined || message.script !== undefined) process.send?.({ ok: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const router = new Router();
router.get("/healthz", (ctx) => {
  ctx.body = { ok: true };
});
router.post("/chatkit", async (ctx) => {
  await readBody(ctx.req);
  ctx.type = "application/json";
  ctx.body = answer;
});
/** Writes a turn as ChatKit events: a text delta per chunk, then the finished message. */
async function writeTurn(ctx: Koa.Context, chunks: AsyncIterable<string>): Promise<void> {
  const itemId = `msg_${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  ctx.respond = false;
  const { res } = ctx;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  let reply = "";
  for await (const delta of chunks) {
    reply += delta;
    const update = { type: "assistant_message.content_part.text_delta", content_index: 0, delta };
    res.write(`data: ${JSON.stringify({ type: "thread.item.updated", item_id: itemId, update })}\n\n`);
  }
  const item = { id: itemId, type: "assistant_message", thread_id: "thr_bare", created_at: new Date().toISOString(), content: [{ type: "output_text", text: reply, annotations: [] }] };
  res.end(`data: ${JSON.stringify({ type: "thread.item.done", item })}\n\n`);
}

const userText = (body: Buffer): string => JSON.parse(body.toString("utf8")).params.input.content[0].text;

router.post("/sse", async (ctx) => {
  const chunks = `Echo: ${userText(await readBody(ctx.req))}`.split(/(?<= )/);
  await writeTurn(
    ctx,
    (async function* () {
      for (const [index, chunk] of chunks.entries()) {
        await sleep(index === 0 ? (script.firstChunkDelayMs ?? script.delayMs ?? 0) : (script.delayMs ?? 0));
        yield chunk;
      }
    })(),
  );
});

router.post("/relay", async (ctx) => {
  const text = userText(await readBody(ctx.req));
  const stream = await client.responses.create({ model, input: [{ role: "user", content: [{ type: "input_text", text }] }], stream: true });
  await writeTurn(
    ctx,
    (async function* () {
      for await (const event of stream) if (event.type === "response.output_text.delta") yield event.delta;
    })(),
  );
});

const upstream = new URL(`${(process.env.OPENAI_BASE_URL ?? "").replace(/\/$/, "")}/responses`);
const keepAlive = new Agent({ keepAlive: true });

/** POSTs a streamed Responses request to the upstream with node:http. */
function postUpstream(text: string): Promise<IncomingMessage> {
  const body = JSON.stringify({ model, input: [{ role: "user", content: [{ type: "input_text", text }] }], stream: true });
  return new Promise((resolve, reject) => {
    const req = request(upstream, { agent: keepAlive, method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${process.env.OPENAI_API_KEY}`, "content-length": Buffer.byteLength(body) } }, resolve);
    req.on("error", reject);
    req.end(body);
  });
}

/** The text deltas of a Responses SSE stream, split on blank lines by hand. */
async function* textDeltas(res: IncomingMessage): AsyncGenerator<string> {
  res.setEncoding("utf8");
  let buffer = "";
  for await (const chunk of res) {
    buffer += chunk;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const data = buffer.slice(0, end).split("\n").find((line) => line.startsWith("data: "));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      if (!data) continue;
      const event = JSON.parse(data.slice(6));
      if (event.type === "response.output_text.delta") yield event.delta;
    }
  }
}

router.post("/http-relay", async (ctx) => {
  const text = userText(await readBody(ctx.req));
  await writeTurn(ctx, textDeltas(await postUpstream(text)));
});

serve(router);
