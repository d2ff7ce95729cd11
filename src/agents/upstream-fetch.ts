import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { finished, Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import type { Metrics } from "../metrics/index.ts";

/**
 * An upstream's event stream (`text/event-stream`, 2xx) whose body is still the Node stream it
 * arrives on. `raw` is read by `upstreamChunks` without the per-chunk cost of web streams; the
 * web `body` and the reading methods serve any other reader (the `openai` client's own
 * `Stream`), and are built only if one asks: a web-stream body costs more to make than the rest
 * of the response.
 */
export class StreamedResponse extends Response {
  constructor(
    readonly raw: Readable,
    init: ResponseInit,
  ) {
    super(null, init);
    let body: ReadableStream<Uint8Array> | undefined;
    Object.defineProperty(this, "body", { get: () => (body ??= pullOnly(raw)) });
  }

  override arrayBuffer = async (): Promise<ArrayBuffer> => {
    const bytes = await readAll(this.raw);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  };

  override text = async (): Promise<string> => (await readAll(this.raw)).toString("utf8");

  override json = async (): Promise<unknown> => JSON.parse(await this.text());
}

/** A web stream over `raw` that reads nothing until it is pulled (so `raw` stays free for `upstreamChunks`). */
function pullOnly(raw: Readable): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= raw[Symbol.asyncIterator]();
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel() {
        raw.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/** The body's chunks as they arrive: the Node stream itself when there is one. */
export function upstreamChunks(response: Response): AsyncIterable<Buffer | Uint8Array> {
  if (response instanceof StreamedResponse) return response.raw;
  return (response.body ?? Readable.from([])) as AsyncIterable<Uint8Array>;
}

/** The most of a non-streamed answer (an error body, a transcription) kept in memory. */
export const MAX_UPSTREAM_BODY_BYTES = 16 * 2 ** 20;

/** Statuses whose responses may not carry a body (the Response constructor refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

const keepAlive = { keepAlive: true, maxFreeSockets: 64 };
const agents = { "http:": new HttpAgent(keepAlive), "https:": new HttpsAgent(keepAlive) };

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = message.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/** Every chunk of `chunks`, bounded by MAX_UPSTREAM_BODY_BYTES. */
async function readAll(chunks: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > MAX_UPSTREAM_BODY_BYTES) throw new Error(`the upstream answer is larger than ${MAX_UPSTREAM_BODY_BYTES} bytes`);
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts);
}

/** An answer a reader takes whole (an error, a transcription): read now, so it holds no connection or slot. */
async function buffered(init: ResponseInit & { status: number }, chunks: AsyncIterable<Buffer | Uint8Array>): Promise<Response> {
  const bytes = await readAll(chunks);
  return new Response(NO_BODY.has(init.status) ? null : bytes, init);
}

/** Event streams that succeeded stay streams; everything else is read whole. */
const streams = (status: number, contentType: string | null | undefined) =>
  status >= 200 && status < 300 && !NO_BODY.has(status) && !!contentType && contentType.toLowerCase().includes("text/event-stream");

/**
 * A request over node:http(s) with keep-alive connections: the `fetch` semantics the `openai`
 * client needs (method, headers, a text body, abort), at a fraction of the CPU undici's `fetch`
 * spends per request and per chunk. Bodies it does not send itself (multipart uploads) go
 * through the global `fetch`.
 */
async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = init.body;
  if (input instanceof Request || (body != null && typeof body !== "string" && !(body instanceof Uint8Array))) {
    const response = await fetch(input, init);
    const responseInit = { status: response.status, statusText: response.statusText, headers: response.headers };
    if (!response.body) return new Response(null, responseInit);
    const raw = Readable.fromWeb(response.body as NodeWebStream<Uint8Array>);
    return streams(response.status, response.headers.get("content-type")) ? new StreamedResponse(raw, responseInit) : buffered(responseInit, raw);
  }
  const url = new URL(input);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  // The openai client hands a Headers already: read it as it is rather than copy it into another.
  const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  given.forEach((value, name) => (headers[name] = value));
  if (body != null) headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  const signal = init.signal;
  signal?.throwIfAborted();
  const message = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers, agent: agents[url.protocol as keyof typeof agents] }, resolve);
    // Kept for the request's whole life: a connection reset mid-answer is reported here too.
    req.on("error", reject);
    if (signal) {
      // Aborting ends the request at any point, the answer's body included (node:http's own
      // `signal` option stops listening once the request is sent).
      const onAbort = () => req.destroy(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      req.once("close", () => signal.removeEventListener("abort", onAbort));
    }
    req.end(body ?? undefined);
  });
  const responseInit = { status: message.statusCode ?? 502, statusText: message.statusMessage ?? "", headers: headersOf(message) };
  return streams(responseInit.status, message.headers["content-type"]) ? new StreamedResponse(message, responseInit) : buffered(responseInit, message);
}

/**
 * The `fetch` every `openai` client of ours uses: `nodeFetch`, recording upstream latency and the
 * requests in flight from the request until the answer's body has ended (or was cancelled). The
 * upstream slot (`UpstreamGate`) is taken by the caller, before the client is asked.
 */
export function upstreamFetch(metrics: Metrics): typeof fetch {
  return async (input, init) => {
    metrics.upstreamInFlight.inc();
    const started = performance.now();
    let settled = false;
    const finish = (outcome: string) => {
      if (settled) return;
      settled = true;
      metrics.upstreamInFlight.dec();
      metrics.upstreamDuration.observe({ outcome }, (performance.now() - started) / 1000);
      init?.signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => finish("aborted");
    init?.signal?.addEventListener("abort", onAbort, { once: true });

    let response: Response;
    try {
      response = await nodeFetch(input, init);
    } catch (error) {
      finish(init?.signal?.aborted ? "aborted" : "error");
      throw error;
    }
    metrics.upstreamFirstByte.observe((performance.now() - started) / 1000);
    const outcome = String(response.status);
    if (response instanceof StreamedResponse) {
      finished(response.raw, (error) => finish(error && !init?.signal?.aborted ? "error" : outcome));
    } else {
      // Every other answer is already read: its slot is free.
      finish(outcome);
    }
    return response;
  };
}
