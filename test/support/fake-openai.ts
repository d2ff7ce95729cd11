import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type {
  Response as OpenAIResponse,
  ResponseCodeInterpreterToolCall,
  ResponseFileSearchToolCall,
  ResponseFunctionWebSearch,
  ResponseOutputText,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";

/** What the fake answers to one model request. */
export interface Script {
  /** The reply, split into `chunks` (default: one chunk per word, spaces kept). */
  text?: string;
  chunks?: string[];
  /** Reply `Echo: <last user text>` instead of `text`, so concurrent answers can be told apart. */
  echo?: boolean;
  /** Delay before each chunk, in ms. */
  delayMs?: number;
  /** Delay before the first chunk only (time to first token). */
  firstChunkDelayMs?: number;
  /** Answer this HTTP status with an OpenAI-style error body instead of a stream. */
  status?: number;
  /** Close the connection after this many chunks, without finishing the stream. */
  cutAfterChunks?: number;
  /** Stop sending after this many chunks and keep the connection open. */
  hangAfterChunks?: number;
  /** With `status`: a `retry-after` header, in seconds. */
  retryAfterSeconds?: number;
  /** Send an event whose data is not JSON after this many chunks. */
  malformedAfterChunks?: number;
  /** Function calls the model makes this round, after its text (if any); arguments are sent in two pieces. */
  toolCalls?: ScriptedToolCall[];
  /** Reasoning summary parts streamed before anything else (Responses API; Chat Completions as `reasoning_content`). */
  reasoning?: string[];
  /** Hosted tools' calls (Responses API), streamed after the reasoning and before the text. */
  hosted?: ScriptedHostedCall[];
  /** Citations on the text (Responses API), sent as `response.output_text.annotation.added` after it. */
  annotations?: Array<ResponseOutputText.URLCitation | ResponseOutputText.FileCitation>;
  /** The usage reported at the end (default: made up per request, see `usageFor`); "none" reports nothing, as some local servers do. */
  usage?: ReportedUsage | "none";
}

/** Tokens as the fake reports them (Responses' names mapped onto Chat Completions' for that flavour). */
export interface ReportedUsage {
  input: number;
  output: number;
  reasoning: number;
  cached: number;
}

export type ScriptedHostedCall =
  | { type: "web_search"; query: string; sources: string[] }
  | { type: "file_search"; queries: string[]; results: Array<{ file_id: string; filename: string; text: string }> }
  | { type: "code_interpreter"; code: string; logs: string }
  /** OpenAI-hosted remote MCP: a call the upstream made itself. */
  | { type: "mcp"; server_label: string; name: string; arguments: Record<string, unknown>; output: string }
  /** Base64 images: every one but the last is a partial image. */
  | { type: "image_generation"; images: string[] };

export interface ScriptedToolCall {
  name: string;
  /** An object is sent as JSON; a string as is (so a test can send broken JSON). */
  arguments?: string | Record<string, unknown>;
  callId?: string;
}

const argumentsText = (call: ScriptedToolCall) => (typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}));
const callIdOf = (call: ScriptedToolCall, request: number, index: number) => call.callId ?? `call_${request}_${index}`;
const halves = (text: string): string[] => [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))].filter(Boolean);

export interface RecordedRequest {
  path: string;
  body: any;
  headers: IncomingMessage["headers"];
  /** performance.now() when the request arrived (same clock as the test's process). */
  receivedAt: number;
  /** True when the client went away before the answer finished. */
  aborted: boolean;
  finished: boolean;
  /** The usage this answer reported, once it did (undefined: none reported). */
  usage?: ReportedUsage;
}

/** Distinct numbers per request, so a test summing a turn's calls catches a call counted twice or missed. */
function usageFor(script: Script, request: number, outputChunks: number): ReportedUsage | undefined {
  if (script.usage === "none") return undefined;
  return script.usage ?? { input: 100 + request * 7, output: outputChunks + 3, reasoning: (script.reasoning?.length ?? 0) * 2, cached: request % 3 };
}

export interface FakeOpenAI {
  /** The base URL to give the openai client (ends with /v1). */
  baseURL: string;
  requests: RecordedRequest[];
  /**
   * What `GET /v1/models` lists (null: answer 404, as a server without a list). Listing is
   * answered apart: it is not recorded in `requests` and takes no script, only counted here.
   */
  models: string[] | null;
  modelListings: number;
  /** Scripts answered in order; when empty, `fallback` answers. */
  queue: Script[];
  fallback: Script;
  close(): Promise<void>;
  /** Resolves when the request at `index` has ended (finished or aborted). */
  ended(index: number): Promise<RecordedRequest>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The text of the last user message in either API's request body. */
export function lastUserText(body: any): string {
  const messages: any[] = body.input ?? body.messages ?? [];
  const last = [...messages].reverse().find((message) => message.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return last.content.map((part: any) => part.text ?? "").join("");
}

function chunksOf(script: Script, body: any): string[] {
  if (script.chunks) return script.chunks;
  const text = script.echo ? `Echo: ${lastUserText(body)}` : (script.text ?? "");
  return text.split(/(?<= )/).filter((chunk) => chunk !== "");
}

function sseEvent(res: ServerResponse, event: ResponseStreamEvent): void {
  res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

function responseObject(id: string, model: string, status: "in_progress" | "completed", output: ResponseOutputItem[]): OpenAIResponse {
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output,
    output_text: output.map((item) => (item.type === "message" ? item.content.map((part) => (part.type === "output_text" ? part.text : "")).join("") : "")).join(""),
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
  };
}

/** One hosted tool's call as the Responses API streams it: item added, its progress events, item done. */
function streamHostedCall(res: ServerResponse, hosted: ScriptedHostedCall, key: string, outputIndex: number, seq: () => number): ResponseOutputItem {
  const at = { output_index: outputIndex };
  const added = (item: ResponseOutputItem) => sseEvent(res, { type: "response.output_item.added", sequence_number: seq(), ...at, item });
  const done = <T extends ResponseOutputItem>(item: T): T => {
    sseEvent(res, { type: "response.output_item.done", sequence_number: seq(), ...at, item });
    return item;
  };
  switch (hosted.type) {
    case "web_search": {
      const id = `ws_fake_${key}`;
      const item: ResponseFunctionWebSearch = { id, type: "web_search_call", status: "in_progress", action: { type: "search", query: hosted.query } };
      added(item);
      sseEvent(res, { type: "response.web_search_call.in_progress", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.web_search_call.searching", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.web_search_call.completed", sequence_number: seq(), item_id: id, ...at });
      return done({ ...item, status: "completed", action: { type: "search", query: hosted.query, sources: hosted.sources.map((url) => ({ type: "url" as const, url })) } });
    }
    case "file_search": {
      const id = `fs_fake_${key}`;
      const item: ResponseFileSearchToolCall = { id, type: "file_search_call", status: "in_progress", queries: hosted.queries, results: null };
      added(item);
      sseEvent(res, { type: "response.file_search_call.in_progress", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.file_search_call.searching", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.file_search_call.completed", sequence_number: seq(), item_id: id, ...at });
      return done({ ...item, status: "completed", results: hosted.results.map((result) => ({ ...result, score: 0.9 })) });
    }
    case "code_interpreter": {
      const id = `ci_fake_${key}`;
      const item: ResponseCodeInterpreterToolCall = { id, type: "code_interpreter_call", status: "in_progress", code: "", container_id: "cntr_fake", outputs: null };
      added(item);
      sseEvent(res, { type: "response.code_interpreter_call.in_progress", sequence_number: seq(), item_id: id, ...at });
      for (const delta of halves(hosted.code)) sseEvent(res, { type: "response.code_interpreter_call_code.delta", sequence_number: seq(), item_id: id, ...at, delta });
      sseEvent(res, { type: "response.code_interpreter_call_code.done", sequence_number: seq(), item_id: id, ...at, code: hosted.code });
      sseEvent(res, { type: "response.code_interpreter_call.interpreting", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.code_interpreter_call.completed", sequence_number: seq(), item_id: id, ...at });
      return done({ ...item, status: "completed", code: hosted.code, outputs: [{ type: "logs", logs: hosted.logs }] });
    }
    case "mcp": {
      const id = `mcp_fake_${key}`;
      const args = JSON.stringify(hosted.arguments);
      const item: ResponseOutputItem = { id, type: "mcp_call", status: "in_progress", server_label: hosted.server_label, name: hosted.name, arguments: "" };
      added(item);
      sseEvent(res, { type: "response.mcp_call.in_progress", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.mcp_call_arguments.done", sequence_number: seq(), item_id: id, ...at, arguments: args });
      sseEvent(res, { type: "response.mcp_call.completed", sequence_number: seq(), item_id: id, ...at });
      return done({ ...item, status: "completed", arguments: args, output: hosted.output });
    }
    case "image_generation": {
      const id = `ig_fake_${key}`;
      const item: ResponseOutputItem = { id, type: "image_generation_call", status: "in_progress", result: null };
      added(item);
      sseEvent(res, { type: "response.image_generation_call.in_progress", sequence_number: seq(), item_id: id, ...at });
      sseEvent(res, { type: "response.image_generation_call.generating", sequence_number: seq(), item_id: id, ...at });
      const partials = hosted.images.slice(0, -1);
      for (const [index, image] of partials.entries()) {
        sseEvent(res, { type: "response.image_generation_call.partial_image", sequence_number: seq(), item_id: id, ...at, partial_image_index: index, partial_image_b64: image });
      }
      sseEvent(res, { type: "response.image_generation_call.completed", sequence_number: seq(), item_id: id, ...at });
      return done({ ...item, status: "completed", result: hosted.images.at(-1) ?? null });
    }
  }
}

/** A small OpenAI-compatible server on 127.0.0.1 streaming the real APIs' event shapes. */
export async function startFakeOpenAI(fallback: Script = { text: "Hello from the fake model." }, port = 0): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const waiters = new Map<number, Array<(r: RecordedRequest) => void>>();
  const fake = { queue: [] as Script[], fallback, models: ["gpt-4.1-mini"] as string[] | null, modelListings: 0 };
  const open = new Set<ServerResponse>();

  const markEnded = (index: number) => {
    for (const resolve of waiters.get(index) ?? []) resolve(requests[index]!);
    waiters.delete(index);
  };

  async function streamResponses(res: ServerResponse, body: any, script: Script, alive: () => boolean, record: RecordedRequest, index: number): Promise<boolean> {
    const id = `resp_${requests.length}`;
    const itemId = `msg_fake_${requests.length}`;
    let sequence = 0;
    const seq = () => sequence++;
    res.writeHead(200, { "content-type": "text/event-stream" });
    sseEvent(res, { type: "response.created", sequence_number: seq(), response: responseObject(id, body.model, "in_progress", []) });
    sseEvent(res, { type: "response.in_progress", sequence_number: seq(), response: responseObject(id, body.model, "in_progress", []) });
    const output: ResponseOutputItem[] = [];
    for (const [summaryIndex, summary] of (script.reasoning ?? []).entries()) {
      const reasoningId = `rs_fake_${requests.length}_${summaryIndex}`;
      const outputIndex = output.length;
      const reasoning: ResponseReasoningItem = { id: reasoningId, type: "reasoning", summary: [] };
      sseEvent(res, { type: "response.output_item.added", sequence_number: seq(), output_index: outputIndex, item: reasoning });
      sseEvent(res, { type: "response.reasoning_summary_part.added", sequence_number: seq(), item_id: reasoningId, output_index: outputIndex, summary_index: 0, part: { type: "summary_text", text: "" } });
      for (const delta of halves(summary)) {
        sseEvent(res, { type: "response.reasoning_summary_text.delta", sequence_number: seq(), item_id: reasoningId, output_index: outputIndex, summary_index: 0, delta });
      }
      sseEvent(res, { type: "response.reasoning_summary_text.done", sequence_number: seq(), item_id: reasoningId, output_index: outputIndex, summary_index: 0, text: summary });
      sseEvent(res, { type: "response.reasoning_summary_part.done", sequence_number: seq(), item_id: reasoningId, output_index: outputIndex, summary_index: 0, part: { type: "summary_text", text: summary } });
      const done: ResponseReasoningItem = { ...reasoning, summary: [{ type: "summary_text", text: summary }] };
      sseEvent(res, { type: "response.output_item.done", sequence_number: seq(), output_index: outputIndex, item: done });
      output.push(done);
    }
    for (const [index, hosted] of (script.hosted ?? []).entries()) {
      output.push(streamHostedCall(res, hosted, `${requests.length}_${index}`, output.length, seq));
    }
    const chunks = chunksOf(script, body);
    const callsOnly = (script.toolCalls?.length || script.hosted?.length) && chunks.length === 0;
    const messageIndex = output.length;
    const message: ResponseOutputMessage = { id: itemId, type: "message", role: "assistant", status: "in_progress", content: [] };
    if (!callsOnly) {
    sseEvent(res, { type: "response.output_item.added", sequence_number: seq(), output_index: messageIndex, item: message });
    sseEvent(res, {
      type: "response.content_part.added",
      sequence_number: seq(),
      item_id: itemId,
      output_index: messageIndex,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    });
    }
    let text = "";
    for (const [index, delta] of chunks.entries()) {
      if (index === script.cutAfterChunks) return false;
      if (index === script.hangAfterChunks) return await new Promise<boolean>(() => {});
      if (index === script.malformedAfterChunks) res.write("event: response.output_text.delta\ndata: {\"type\": \"response.output_text.delta\", \"delta\": \n\n");
      await sleep(index === 0 ? (script.firstChunkDelayMs ?? script.delayMs ?? 0) : (script.delayMs ?? 0));
      if (!alive()) return false;
      text += delta;
      sseEvent(res, { type: "response.output_text.delta", sequence_number: seq(), item_id: itemId, output_index: messageIndex, content_index: 0, delta, logprobs: [] });
    }
    if (script.cutAfterChunks !== undefined && script.cutAfterChunks >= chunks.length) return false;
    if (!callsOnly) {
      for (const [index, annotation] of (script.annotations ?? []).entries()) {
        sseEvent(res, { type: "response.output_text.annotation.added", sequence_number: seq(), item_id: itemId, output_index: messageIndex, content_index: 0, annotation_index: index, annotation });
      }
      sseEvent(res, { type: "response.output_text.done", sequence_number: seq(), item_id: itemId, output_index: messageIndex, content_index: 0, text, logprobs: [] });
      const part = { type: "output_text" as const, text, annotations: script.annotations ?? [] };
      sseEvent(res, { type: "response.content_part.done", sequence_number: seq(), item_id: itemId, output_index: messageIndex, content_index: 0, part });
      const done: ResponseOutputMessage = { ...message, status: "completed", content: [part] };
      sseEvent(res, { type: "response.output_item.done", sequence_number: seq(), output_index: messageIndex, item: done });
      output.push(done);
    }
    for (const [index, scripted] of (script.toolCalls ?? []).entries()) {
      const outputIndex = output.length;
      const callItemId = `fc_fake_${requests.length}_${index}`;
      const args = argumentsText(scripted);
      const call: ResponseFunctionToolCall = { id: callItemId, type: "function_call", call_id: callIdOf(scripted, requests.length, index), name: scripted.name, arguments: "", status: "in_progress" };
      sseEvent(res, { type: "response.output_item.added", sequence_number: seq(), output_index: outputIndex, item: call });
      for (const delta of halves(args)) {
        sseEvent(res, { type: "response.function_call_arguments.delta", sequence_number: seq(), item_id: callItemId, output_index: outputIndex, delta });
      }
      sseEvent(res, { type: "response.function_call_arguments.done", sequence_number: seq(), item_id: callItemId, output_index: outputIndex, name: scripted.name, arguments: args });
      const done: ResponseFunctionToolCall = { ...call, arguments: args, status: "completed" };
      sseEvent(res, { type: "response.output_item.done", sequence_number: seq(), output_index: outputIndex, item: done });
      output.push(done);
    }
    const reported = usageFor(script, index, chunks.length);
    record.usage = reported;
    const usage = reported && {
      input_tokens: reported.input,
      input_tokens_details: { cached_tokens: reported.cached, cache_write_tokens: 0 },
      output_tokens: reported.output,
      output_tokens_details: { reasoning_tokens: reported.reasoning },
      total_tokens: reported.input + reported.output,
    };
    sseEvent(res, { type: "response.completed", sequence_number: seq(), response: { ...responseObject(id, body.model, "completed", output), ...(usage ? { usage } : {}) } });
    return true;
  }

  async function streamChat(res: ServerResponse, body: any, script: Script, alive: () => boolean, record: RecordedRequest, index: number): Promise<boolean> {
    const base = { id: `chatcmpl_${requests.length}`, object: "chat.completion.chunk" as const, created: Math.floor(Date.now() / 1000), model: body.model };
    const send = (chunk: ChatCompletionChunk) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.writeHead(200, { "content-type": "text/event-stream" });
    send({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
    for (const summary of script.reasoning ?? []) {
      // Not in the `openai` types: the field local servers (vLLM, llama.cpp, DeepSeek) stream thinking in.
      send({ ...base, choices: [{ index: 0, delta: { reasoning_content: summary } as ChatCompletionChunk.Choice.Delta, finish_reason: null }] });
    }
    const chunks = chunksOf(script, body);
    for (const [index, content] of chunks.entries()) {
      if (index === script.cutAfterChunks) return false;
      if (index === script.hangAfterChunks) return await new Promise<boolean>(() => {});
      if (index === script.malformedAfterChunks) res.write("data: {\"choices\": [\n\n");
      await sleep(index === 0 ? (script.firstChunkDelayMs ?? script.delayMs ?? 0) : (script.delayMs ?? 0));
      if (!alive()) return false;
      send({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    }
    if (script.cutAfterChunks !== undefined && script.cutAfterChunks >= chunks.length) return false;
    for (const [index, scripted] of (script.toolCalls ?? []).entries()) {
      const [first = "", second] = halves(argumentsText(scripted));
      send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: callIdOf(scripted, requests.length, index), type: "function", function: { name: scripted.name, arguments: first } }] }, finish_reason: null }] });
      if (second) send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: second } }] }, finish_reason: null }] });
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: script.toolCalls?.length ? "tool_calls" : "stop" }] });
    // As OpenAI does: a last chunk with the usage and no choices, only when asked for.
    const reported = body.stream_options?.include_usage ? usageFor(script, index, chunks.length) : undefined;
    if (reported) {
      record.usage = reported;
      send({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: reported.input,
          completion_tokens: reported.output,
          total_tokens: reported.input + reported.output,
          prompt_tokens_details: { cached_tokens: reported.cached },
          completion_tokens_details: { reasoning_tokens: reported.reasoning },
        },
      });
    }
    res.write("data: [DONE]\n\n");
    return true;
  }

  const server: Server = createServer(async (req, res) => {
    const receivedAt = performance.now();
    if (req.method === "GET" && req.url?.replace(/\?.*$/, "") === "/v1/models") {
      fake.modelListings++;
      res.writeHead(fake.models ? 200 : 404, { "content-type": "application/json" });
      const created = Math.floor(Date.now() / 1000);
      res.end(JSON.stringify(fake.models ? { object: "list", data: fake.models.map((id) => ({ id, object: "model", created, owned_by: "fake" })) } : { error: { message: "no route /v1/models", type: "invalid_request_error" } }));
      return;
    }
    open.add(res);
    const raw: Buffer[] = [];
    for await (const chunk of req) raw.push(chunk as Buffer);
    const text = Buffer.concat(raw).toString("utf8");
    const record: RecordedRequest = {
      path: req.url ?? "",
      body: req.headers["content-type"]?.includes("json") && text ? JSON.parse(text) : text,
      headers: req.headers,
      receivedAt,
      aborted: false,
      finished: false,
    };
    const index = requests.push(record) - 1;
    res.on("close", () => {
      open.delete(res);
      if (!record.finished) record.aborted = true;
      markEnded(index);
    });
    const alive = () => !record.aborted && !res.destroyed;
    const script = fake.queue.shift() ?? fake.fallback;

    if (script.status) {
      res.writeHead(script.status, {
        "content-type": "application/json",
        ...(script.retryAfterSeconds !== undefined ? { "retry-after": String(script.retryAfterSeconds) } : {}),
      });
      res.end(JSON.stringify({ error: { message: `scripted failure ${script.status}`, type: "server_error", code: null, param: null } }));
      record.finished = true;
      return;
    }
    const route = record.path.replace(/\?.*$/, "");
    let completed: boolean;
    if (route === "/v1/responses") completed = await streamResponses(res, record.body, script, alive, record, index);
    else if (route === "/v1/chat/completions") completed = await streamChat(res, record.body, script, alive, record, index);
    else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `no route ${route}`, type: "invalid_request_error" } }));
      record.finished = true;
      return;
    }
    if (completed) {
      record.finished = true;
      res.end();
    } else {
      // A cut: what was written reaches the client, then the connection drops without an end.
      if (!res.destroyed) await new Promise<void>((resolve) => res.write("", () => resolve()));
      res.destroy();
    }
  });

  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const boundPort = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${boundPort}/v1`,
    requests,
    get queue() {
      return fake.queue;
    },
    set queue(value) {
      fake.queue = value;
    },
    get fallback() {
      return fake.fallback;
    },
    set fallback(value) {
      fake.fallback = value;
    },
    get models() {
      return fake.models;
    },
    set models(value) {
      fake.models = value;
    },
    get modelListings() {
      return fake.modelListings;
    },
    ended(index) {
      const record = requests[index];
      if (record && (record.finished || record.aborted)) return Promise.resolve(record);
      return new Promise((resolve) => waiters.set(index, [...(waiters.get(index) ?? []), resolve]));
    },
    async close() {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
