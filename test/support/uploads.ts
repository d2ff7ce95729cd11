import { readdirSync } from "node:fs";
import path from "node:path";
import type { TestServer } from "./app.ts";

/** Bytes that start like a real PNG (signature and IHDR), followed by `size - 24` filler bytes. */
export function pngBytes(size = 256): Buffer {
  const head = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex").subarray(0, 24);
  const body = Buffer.alloc(Math.max(0, size - head.length));
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) % 256;
  return Buffer.concat([head, body]).subarray(0, Math.max(size, 0));
}

/** `POST /chatkit/upload` with a multipart `file`, as the ChatKit client's direct upload does. */
export async function uploadDirect(
  server: TestServer,
  file: { name: string; type: string; bytes: Buffer | string },
  token?: string,
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append("file", new Blob([file.bytes], { type: file.type }), file.name);
  const response = await fetch(`${server.url}/chatkit/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token ?? (await server.token())}` },
    body: form,
  });
  return { status: response.status, body: await response.json() };
}

/** Fetches a URL with an optional bearer token; answers status, headers and the raw bytes. */
export async function fetchBytes(url: string, token?: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** What lies in the attachments folder, temporary files included. */
export function attachmentDirEntries(server: TestServer): string[] {
  return readdirSync(path.join(server.dataDir, "attachments")).sort();
}
