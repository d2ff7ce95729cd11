import assert from "node:assert/strict";
import { test } from "node:test";
import { consumeMultipartFile } from "../src/attachments/multipart.ts";

async function* inChunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test("the multipart reader finds the file part whatever the chunk boundaries", async () => {
  const content = Buffer.from("line one\r\n--not-the-boundary\r\n\r\nend\r\n-", "latin1");
  const form = new FormData();
  form.append("before", "a field");
  form.append("file", new Blob([content], { type: "text/plain" }), "ré sumé.txt");
  form.append("after", "another");
  const request = new Request("http://x/", { method: "POST", body: form });
  const body = Buffer.from(await request.arrayBuffer());
  const contentType = request.headers.get("content-type") ?? undefined;

  for (const size of [1, 2, 7, 64, body.length]) {
    const file = await consumeMultipartFile(inChunks(body, size), contentType, "file", async (part) => ({
      name: part.fileName,
      type: part.contentType,
      bytes: await collect(part.body),
    }));
    assert.equal(file.name, "ré sumé.txt", `chunks of ${size}`);
    assert.equal(file.type, "text/plain");
    assert.deepEqual(file.bytes, content, `chunks of ${size}`);
  }
});
