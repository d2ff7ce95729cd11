import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { Context, Next } from "koa";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { audioMimeType } from "../agents/transcription.ts";
import { ChatkitError } from "../core/errors.ts";

declare module "koa" {
  interface Request {
    /** The parsed JSON body of `POST /chatkit` (see `chatkitJsonBody`). */
    body?: unknown;
  }
}

export interface JsonBodyLimits {
  /** Largest body (after decompression) for every request. */
  maxBytes: number;
  /**
   * A larger limit for bodies whose first bytes show they are allowed it (voice input's base64
   * audio), judged on the first `maxBytes` only, so nothing larger is buffered for anyone else.
   */
  large?: {
    maxBytes: number;
    allows: (prefix: string) => boolean;
    /**
     * Shown the prefix once the larger limit is granted, then every further chunk (latin1): may
     * throw to refuse the body as soon as what arrived shows it is wrong, without reading the rest.
     */
    inspect?: (text: string) => void;
  };
}

const tooLarge = (maxBytes: number) => new ChatkitError(413, "payload_too_large", { max_bytes: maxBytes });

type Decompressor = ReturnType<typeof createGunzip>;

/**
 * The body's bytes as its Content-Encoding says to read them, and how to stop reading. Not
 * stream.pipeline: refusing a body must stop decompressing without destroying the request,
 * whose socket still has to carry the 413.
 */
function decoded(req: IncomingMessage): { body: Readable; stop: () => void; decompressing: boolean } {
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  const through = (decompressor: Decompressor) => {
    const cut = () => {
      if (!req.complete) decompressor.destroy(Object.assign(new Error("the request body was cut off"), { code: "ECONNRESET" }));
    };
    req.once("error", cut);
    req.once("close", cut);
    return {
      body: req.pipe(decompressor),
      stop: () => {
        req.unpipe(decompressor);
        decompressor.destroy();
      },
      decompressing: true,
    };
  };
  switch (encoding) {
    case "identity":
    case "":
      return { body: req, stop: () => undefined, decompressing: false };
    case "gzip":
    case "x-gzip":
      return through(createGunzip());
    case "deflate":
      return through(createInflate());
    case "br":
      return through(createBrotliDecompress() as unknown as Decompressor);
    default:
      throw new ChatkitError(415, "unsupported_content_encoding", { encoding });
  }
}

/**
 * Reads a request body, decompressing it as it streams and counting the decompressed bytes, so
 * a small compressed body can never expand past the limit (a gzip bomb stops at the limit, not
 * after it was inflated in memory). Answers the body as text.
 */
export async function readLimitedBody(req: IncomingMessage, limits: JsonBodyLimits): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  const ceiling = limits.large?.maxBytes ?? limits.maxBytes;
  if (!req.headers["content-encoding"] && Number.isFinite(declared) && declared > ceiling) throw tooLarge(ceiling);
  const source = decoded(req);
  const chunks: Buffer[] = [];
  let size = 0;
  let maxBytes = limits.maxBytes;
  // Events rather than `for await`: an async iterator costs more than reading a small body.
  const body = await new Promise<Buffer>((resolve, reject) => {
    const fail = (error: unknown) => {
      source.body.off("data", onData);
      source.body.off("end", onEnd);
      source.body.off("error", fail);
      source.body.off("close", onClose);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Judged on the first `maxBytes` only, this chunk included (a first chunk may already be past the limit).
        const sofar = Buffer.concat([...chunks, chunk]);
        if (maxBytes === limits.maxBytes && limits.large?.allows(sofar.subarray(0, limits.maxBytes).toString("utf8"))) {
          maxBytes = limits.large.maxBytes;
          try {
            limits.large.inspect?.(sofar.toString("latin1"));
          } catch (error) {
            return fail(error);
          }
        }
        if (size > maxBytes) return fail(tooLarge(maxBytes));
      } else if (maxBytes !== limits.maxBytes && limits.large?.inspect) {
        try {
          limits.large.inspect(chunk.toString("latin1"));
        } catch (error) {
          return fail(error);
        }
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      source.body.off("error", fail);
      source.body.off("close", onClose);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    // Closed before its end: the client hung up or was cut off mid-body.
    const onClose = () => fail(Object.assign(new Error("the request body was cut off"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    source.body.on("data", onData);
    source.body.once("end", onEnd);
    source.body.once("error", fail);
    source.body.once("close", onClose);
  }).catch((error: unknown) => {
    source.stop();
    if (error instanceof ChatkitError) throw error;
    // The client hung up or was cut off (limits.requestTimeoutMs) before the body was complete.
    const code = (error as NodeJS.ErrnoException).code;
    if (req.readableAborted || code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE") throw new ChatkitError(400, "request_incomplete");
    // The decompressor (gzip, deflate, brotli): the body is not what its Content-Encoding says.
    if (source.decompressing) throw new ChatkitError(400, "invalid_json", { reason: "bad_compression" });
    throw error;
  });
  return body.toString("utf8");
}

export interface JsonShapeLimits {
  maxDepth: number;
  maxStringLength: number;
  /** Paths (dotted) whose strings may be longer, e.g. `params.audio_base64`. */
  longStringPaths?: ReadonlySet<string>;
}

interface Frame {
  value: unknown;
  depth: number;
  key: string | number;
  parent: Frame | undefined;
}

function pathOf(frame: Frame): string {
  const parts: Array<string | number> = [];
  for (let at: Frame | undefined = frame; at?.parent; at = at.parent) parts.unshift(at.key);
  return parts.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("") || "(root)";
}

/**
 * Checks a parsed body's nesting depth and string lengths (keys included) without recursion, so
 * a body nested a million levels deep is refused with a 400 instead of overflowing the stack
 * when it is later stored or serialised.
 */
export function checkJsonShape(value: unknown, limits: JsonShapeLimits): void {
  const stack: Frame[] = [{ value, depth: 1, key: "", parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const current = frame.value;
    if (typeof current === "string") {
      if (current.length > limits.maxStringLength && !limits.longStringPaths?.has(pathOf(frame))) {
        throw new ChatkitError(400, "string_too_long", { field: pathOf(frame), max_length: limits.maxStringLength });
      }
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (frame.depth > limits.maxDepth) throw new ChatkitError(400, "json_too_deep", { field: pathOf(frame), max_depth: limits.maxDepth });
    if (Array.isArray(current)) {
      current.forEach((element, index) => stack.push({ value: element, depth: frame.depth + 1, key: index, parent: frame }));
      continue;
    }
    for (const [key, element] of Object.entries(current)) {
      if (key.length > limits.maxStringLength) throw new ChatkitError(400, "string_too_long", { field: pathOf(frame), max_length: limits.maxStringLength });
      stack.push({ value: element, depth: frame.depth + 1, key, parent: frame });
    }
  }
}

/** Parses a JSON body; anything but an object or array is not a ChatKit request. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChatkitError(400, "invalid_json");
  }
  if (value === null || typeof value !== "object") throw new ChatkitError(400, "invalid_json");
  return value;
}

/** Whether a request carries a body at all (a length, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
}

export interface ChatkitBodyLimits {
  jsonBodyBytes: number;
  jsonMaxDepth: number;
  jsonMaxStringLength: number;
  /** The largest audio `input.transcribe` may carry, in bytes (before base64). */
  transcriptionBytes: number;
}

const TRANSCRIBE_PREFIX = /^\s*\{\s*"type"\s*:\s*"input\.transcribe"/;
const AUDIO_PATH = new Set(["params.audio_base64"]);
const AUDIO_START = /"audio_base64"\s*:\s*"/;
const MIME_TYPE_FIELD = /"mime_type"\s*:\s*"([^"\\]*)"/;
/** Base64 (either alphabet), padding, and what JSON may put in such a string (whitespace escapes, `\/`). */
const NOT_BASE64 = /[^A-Za-z0-9+/=_\-\\]/;

/**
 * Reads a large `input.transcribe` body as it arrives and refuses it at the first sign that it
 * is wrong, instead of after 30 MB: a `mime_type` sent before the audio that is not audio (415),
 * or audio that is not base64 (400 naming `params.audio_base64`). A `mime_type` after the audio
 * is checked by the handler, when the body is complete.
 */
export class TranscriptionBodyCheck {
  private state: "before_audio" | "audio" | "after_audio" = "before_audio";
  private seen = "";

  readonly inspect = (text: string): void => {
    if (this.state === "after_audio") return;
    if (this.state === "before_audio") {
      this.seen += text;
      const start = AUDIO_START.exec(this.seen);
      const before = start ? this.seen.slice(0, start.index) : this.seen;
      const mimeType = MIME_TYPE_FIELD.exec(before)?.[1];
      if (mimeType !== undefined) audioMimeType(mimeType);
      if (!start) {
        // Enough to find the field's name again when it is split between two chunks.
        this.seen = this.seen.slice(-256);
        return;
      }
      text = this.seen.slice(start.index + start[0].length);
      this.seen = "";
      this.state = "audio";
    }
    const end = text.indexOf('"');
    if (NOT_BASE64.test(end === -1 ? text : text.slice(0, end))) throw new ChatkitError(400, "invalid_params", { field: "params.audio_base64" });
    if (end !== -1) this.state = "after_audio";
  };
}

/**
 * The body of `POST /chatkit`: JSON (or text/plain holding JSON, as the seed accepted), at most
 * `jsonBodyBytes` after decompression. Only `input.transcribe` may be larger (its base64 audio),
 * and only when its `"type"` comes first, as the ChatKit client sends it: the limit is decided
 * before the rest is read. Depth and string lengths are checked before any handler sees it.
 */
export function chatkitJsonBody(limits: ChatkitBodyLimits, options: { beforeTranscription?: (ctx: Context) => void } = {}) {
  const transcribeBytes = Math.ceil((limits.transcriptionBytes * 4) / 3) + 64 * 1024;
  return async function jsonBody(ctx: Context, next: Next): Promise<void> {
    let text = "";
    if (hasBody(ctx.req)) {
      if (!ctx.is("json", "+json", "text/plain")) throw new ChatkitError(415, "unsupported_content_type");
      const check = new TranscriptionBodyCheck();
      let urlChecked = false;
      text = await readLimitedBody(ctx.req, {
        maxBytes: limits.jsonBodyBytes,
        large: {
          maxBytes: Math.max(transcribeBytes, limits.jsonBodyBytes),
          allows: (prefix) => TRANSCRIBE_PREFIX.test(prefix),
          inspect: (chunk) => {
            if (!urlChecked) {
              urlChecked = true;
              // What the request's URL and the box already tell: no need to read the audio to refuse it.
              options.beforeTranscription?.(ctx);
            }
            check.inspect(chunk);
          },
        },
      });
    }
    const body = parseJsonBody(text);
    const transcribing = (body as { type?: unknown }).type === "input.transcribe";
    checkJsonShape(body, { maxDepth: limits.jsonMaxDepth, maxStringLength: limits.jsonMaxStringLength, ...(transcribing ? { longStringPaths: AUDIO_PATH } : {}) });
    ctx.request.body = body;
    await next();
  };
}

/**
 * A signed-in client must send its request body at least `bodyMinBytesPerSecond` fast, measured
 * over each `bodyRateWindowMs`; a slower one has its connection closed, rather than holding it
 * (and an upload slot) until `requestTimeoutMs`. Windows where the server is the slow side (the
 * body waits unread in a full buffer) do not count against the client.
 */
export function minimumBodyRate(limits: { bodyMinBytesPerSecond: number; bodyRateWindowMs: number }) {
  const perWindow = (limits.bodyMinBytesPerSecond * limits.bodyRateWindowMs) / 1000;
  return async function bodyRate(ctx: Context, next: Next): Promise<void> {
    const req = ctx.req;
    if (perWindow === 0 || !hasBody(req) || req.complete) return next();
    const socket = req.socket;
    let last = socket.bytesRead;
    const timer = setInterval(() => {
      if (req.complete) return clearInterval(timer);
      const read = socket.bytesRead;
      const serverIsSlow = req.readableLength >= req.readableHighWaterMark;
      if (read - last < perWindow && !serverIsSlow) {
        clearInterval(timer);
        socket.destroy();
      }
      last = read;
    }, limits.bodyRateWindowMs);
    timer.unref();
    try {
      await next();
    } finally {
      clearInterval(timer);
    }
  };
}
