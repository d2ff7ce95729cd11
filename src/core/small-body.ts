import type { IncomingMessage } from "node:http";
import { ChatkitError } from "./errors.ts";

/**
 * A small request body (a form, an API call's JSON) as text, refused with 413 `payload_too_large`
 * past `maxBytes` without reading further. Compressed bodies are not expected here: read as sent.
 */
export async function readSmallBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  if (Number(req.headers["content-length"]) > maxBytes) throw new ChatkitError(413, "payload_too_large", { max_bytes: maxBytes });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ChatkitError(413, "payload_too_large", { max_bytes: maxBytes });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
