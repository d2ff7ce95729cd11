import { ChatkitError } from "../core/errors.ts";

/** One file part of a multipart body: its declared name and type, and its bytes as they arrive. */
export interface MultipartFile {
  fileName: string;
  contentType: string | undefined;
  body: AsyncIterable<Buffer>;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_SKIPPED_FIELD_BYTES = 64 * 1024;
const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

const malformed = () => new ChatkitError(400, "upload_required", { reason: "malformed multipart body" });

/** The `boundary` of a `multipart/form-data` Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Parameters of a `Content-Disposition` header: `form-data; name="file"; filename="a.png"`.
 * Quoted values are taken literally: browsers percent-encode `"`, CR and LF and do not escape
 * backslashes (HTML's multipart encoding), so a Windows path keeps its separators.
 */
function dispositionParams(header: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"([^"]*)"|([^;]*))/g;
  for (const match of header.matchAll(pattern)) {
    const value = match[2] ?? (match[3] ?? "").trim();
    params.set(match[1]!.toLowerCase(), value);
  }
  return params;
}

/** The file name a part declares; RFC 5987 `filename*` wins; browsers escape `"` as `%22`. */
function partFileName(params: Map<string, string>): string | undefined {
  const extended = params.get("filename*");
  if (extended) {
    const encoded = /^utf-8'[^']*'(.*)$/i.exec(extended)?.[1];
    if (encoded !== undefined) {
      try {
        return decodeURIComponent(encoded);
      } catch {
        // a broken encoding falls back to the plain parameter
      }
    }
  }
  return params.get("filename")?.replace(/%22/g, '"');
}

type PartEvent = { kind: "headers"; headers: Map<string, string> } | { kind: "data"; chunk: Buffer } | { kind: "end" };

/**
 * Splits a multipart body into parts as it streams in; holds at most one chunk plus a
 * boundary's length in memory, whatever the body's size.
 */
async function* multipartEvents(body: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<PartEvent> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first boundary match the same delimiter as the others.
  let buffer: Buffer = CRLF;
  let state: "preamble" | "after-delimiter" | "headers" | "body" | "done" = "preamble";

  for await (const chunk of body) {
    if (state === "done") continue;
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (state === "preamble" || state === "body") {
        const at = buffer.indexOf(delimiter);
        if (at === -1) {
          const safe = Math.max(0, buffer.length - delimiter.length + 1);
          if (state === "body" && safe > 0) yield { kind: "data", chunk: buffer.subarray(0, safe) };
          buffer = buffer.subarray(safe);
          break;
        }
        if (state === "body") {
          if (at > 0) yield { kind: "data", chunk: buffer.subarray(0, at) };
          yield { kind: "end" };
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = "after-delimiter";
      }
      if (state === "after-delimiter") {
        if (buffer.length < 2) break;
        if (buffer.subarray(0, 2).toString("latin1") === "--") {
          state = "done";
          break;
        }
        const lineEnd = buffer.indexOf(CRLF);
        if (lineEnd === -1) {
          if (buffer.length > 256) throw malformed();
          break;
        }
        buffer = buffer.subarray(lineEnd + 2);
        state = "headers";
      }
      if (state === "headers") {
        const end = buffer.indexOf(HEADER_END);
        const blankFirstLine = buffer.subarray(0, 2).equals(CRLF);
        if (end === -1 && !blankFirstLine) {
          if (buffer.length > MAX_HEADER_BYTES) throw malformed();
          break;
        }
        const headerBlock = blankFirstLine ? "" : buffer.subarray(0, end).toString("utf8");
        buffer = buffer.subarray(blankFirstLine ? 2 : end + HEADER_END.length);
        const headers = new Map<string, string>();
        for (const line of headerBlock.split("\r\n")) {
          const colon = line.indexOf(":");
          if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        yield { kind: "headers", headers };
        state = "body";
      }
    }
  }
  if (state !== "done") throw malformed();
}

/**
 * Reads what follows the file part (small trailing fields, the closing boundary) so the client
 * sees its answer instead of a reset connection. The file is already whole, so nothing here
 * may fail the upload: a malformed or oversized tail is simply left unread.
 */
async function drainQuietly(events: AsyncGenerator<PartEvent>, maxBytes: number): Promise<void> {
  let drained = 0;
  try {
    // A manual loop: leaving a for-await early would destroy the request before we answer it.
    for (let next = await events.next(); !next.done; next = await events.next()) {
      if (next.value.kind === "data" && (drained += next.value.chunk.length) > maxBytes) return;
    }
  } catch {
    // see above: the stored file stands
  }
}

/**
 * Streams the multipart part named `fieldName` that carries a file to `consume`, skipping other
 * (small) fields. The body is read once, as it arrives: nothing is buffered whole.
 * Throws 400 `upload_required` when no such part exists or the body is malformed.
 */
export async function consumeMultipartFile<T>(
  body: AsyncIterable<Buffer>,
  contentType: string | undefined,
  fieldName: string,
  consume: (file: MultipartFile) => Promise<T>,
): Promise<T> {
  const boundary = multipartBoundary(contentType);
  if (!boundary) throw new ChatkitError(400, "upload_required", { reason: "expected multipart/form-data" });
  const events = multipartEvents(body, boundary);
  let skippedBytes = 0;

  for (let next = await events.next(); !next.done; next = await events.next()) {
    const event = next.value;
    if (event.kind !== "headers") {
      if (event.kind === "data" && (skippedBytes += event.chunk.length) > MAX_SKIPPED_FIELD_BYTES) throw malformed();
      continue;
    }
    const params = dispositionParams(event.headers.get("content-disposition") ?? "");
    const fileName = partFileName(params);
    if (params.get("name") !== fieldName || fileName === undefined) continue;

    // The consumer pulls this part's bytes straight from the shared event stream.
    async function* partBody(): AsyncGenerator<Buffer> {
      for (let part = await events.next(); !part.done; part = await events.next()) {
        if (part.value.kind === "end") return;
        if (part.value.kind === "data") yield part.value.chunk;
      }
      throw malformed();
    }
    const result = await consume({ fileName, contentType: event.headers.get("content-type"), body: partBody() });
    await drainQuietly(events, MAX_SKIPPED_FIELD_BYTES);
    return result;
  }
  throw new ChatkitError(400, "upload_required");
}
