import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "./support/app.ts";
import { ownerOf } from "./support/fixtures.ts";
import { attachmentDirEntries, fetchBytes } from "./support/uploads.ts";

/** A request body that sends `first`, waits until `release` resolves, then sends `rest`. */
function slowBody(first: Buffer, rest: Buffer, release: Promise<void>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(first);
      await release;
      controller.enqueue(rest);
      controller.close();
    },
  });
}

describe("two-phase uploads racing", () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    token = await server.token();
  });
  after(() => server.close({ removeData: true }));

  async function pending(size: number) {
    const created = await server.request("attachments.create", { name: "notes.txt", size, mime_type: "text/plain" }, { token });
    assert.equal(created.status, 200);
    return created.body as { id: string; upload_descriptor: { url: string } };
  }

  /** Waits until an upload has claimed the attachment (on a loaded machine that can take a while). */
  async function claimed(attachmentId: string): Promise<void> {
    const owner = await ownerOf(server, "alice@example.com");
    for (let i = 0; i < 500; i++) {
      if ((await server.store.attachments.get(owner, attachmentId))?.status === "uploading") return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail("the upload never claimed the attachment");
  }

  const put = (url: string, body: string | ReadableStream<Uint8Array>) =>
    fetch(url, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" }, body, duplex: "half" } as RequestInit);

  test("the first upload to start owns the attachment; a second one is refused without touching the bytes", async () => {
    const attachment = await pending("slow upload, finished last".length);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = put(attachment.upload_descriptor.url, slowBody(Buffer.from("slow upload, "), Buffer.from("finished last"), released));
    await claimed(attachment.id);
    const fast = await put(attachment.upload_descriptor.url, "fast");
    assert.equal(fast.status, 409);
    release();
    const slowResponse = await slow;
    assert.equal(slowResponse.status, 200);

    const download = await fetchBytes(`${server.url}/chatkit/attachments/${attachment.id}`, token);
    assert.equal(download.bytes.toString(), "slow upload, finished last");
    assert.equal(download.headers.get("content-length"), String("slow upload, finished last".length));
  });

  test("a refused upload gives the attachment back for another try", async () => {
    const attachment = await pending(5);
    const tooBig = await put(attachment.upload_descriptor.url, "far more than five bytes");
    assert.equal(tooBig.status, 413);
    const retry = await put(attachment.upload_descriptor.url, "five!");
    assert.equal(retry.status, 200);
  });

  test("bytes that differ from the declared size are refused, and the attachment stays open for a right upload", async () => {
    const attachment = await pending(20);
    // Declared by Content-Length: refused before a byte is read.
    const short = await put(attachment.upload_descriptor.url, "11 bytes ok");
    assert.equal(short.status, 400);
    assert.equal(((await short.json()) as { error: string }).error, "upload_size_mismatch");
    // Streamed without a length: counted as it arrives, refused at its end, no file kept.
    const streamed = await put(attachment.upload_descriptor.url, slowBody(Buffer.from("only "), Buffer.from("eleven"), Promise.resolve()));
    assert.equal(streamed.status, 400);
    assert.equal(((await streamed.json()) as { error: string }).error, "upload_size_mismatch");
    assert.ok(!attachmentDirEntries(server).some((name) => name.includes(attachment.id)), "no file is left");
    const owner = await ownerOf(server, "alice@example.com");
    assert.equal((await server.store.attachments.get(owner, attachment.id))?.status, "pending");
    const right = await put(attachment.upload_descriptor.url, "exactly twenty bytes");
    assert.equal(right.status, 200);
    assert.equal(await server.store.quotas.storedBytes(owner.userId), 20 + 5 + "slow upload, finished last".length);
  });

  test("an attachment deleted while its bytes arrive keeps no file", async () => {
    const attachment = await pending("half and the rest".length);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upload = put(attachment.upload_descriptor.url, slowBody(Buffer.from("half "), Buffer.from("and the rest"), released));
    await claimed(attachment.id);
    const deleted = await server.request("attachments.delete", { attachment_id: attachment.id }, { token });
    assert.equal(deleted.status, 200);
    release();
    assert.equal((await upload).status, 404);
    assert.ok(!attachmentDirEntries(server).some((name) => name.includes(attachment.id)), "no file or temp file is left");
  });
});
