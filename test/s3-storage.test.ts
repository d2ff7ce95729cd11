import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AttachmentFiles, type AttachmentStorage } from "../src/attachments/files.ts";
import { S3AttachmentStorage } from "../src/attachments/s3-storage.ts";
import { sweepUnsentAttachments } from "../src/attachments/sweep.ts";
import { startTestServer, tempDataDir, type TestServer } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { startFakeOpenAI } from "./support/fake-openai.ts";
import { ownerOf, seedThread } from "./support/fixtures.ts";
import { startFakeS3, type FakeS3 } from "./support/s3.ts";
import { fetchBytes, pngBytes, uploadDirect } from "./support/uploads.ts";

const MB = 1024 * 1024;

async function* chunks(count: number, size: number, failAtEnd?: Error): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, i % 251);
  if (failAtEnd) throw failAtEnd;
}

async function streamed(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

let s3: FakeS3;
before(async () => {
  s3 = await startFakeS3();
});
after(() => s3.close());

/** The storage contract, for the data dir and the bucket alike. */
for (const kind of ["data dir", "s3"] as const) {
  describe(`attachment storage: ${kind}`, () => {
    let storage: AttachmentStorage;
    let stored: () => Promise<string[]>;
    before(() => {
      if (kind === "s3") {
        storage = new S3AttachmentStorage({ ...s3.storage, prefix: "contract/" });
        stored = async () => (await s3.keys()).filter((key) => key.startsWith("contract/")).map((key) => key.slice("contract/".length));
      } else {
        const files = new AttachmentFiles(tempDataDir());
        storage = files;
        stored = async () => (await import("node:fs")).readdirSync(files.dir).sort();
      }
    });

    test("bytes written come back whole, as a stream and as a bounded read", async () => {
      await storage.check();
      assert.equal(await storage.write("atc_small", chunks(3, 1000)), 3000);
      // Larger than one multipart part: several parts on S3.
      assert.equal(await storage.write("atc_large", chunks(12, MB)), 12 * MB);
      const opened = await storage.open("atc_large");
      assert.equal(opened?.size, 12 * MB);
      assert.deepEqual(await streamed(opened!.stream), await streamed(chunks(12, MB)));
      assert.deepEqual(await storage.read("atc_small", 10_000), { bytes: await streamed(chunks(3, 1000)), truncated: false });
      const head = await storage.read("atc_small", 1500);
      assert.equal(head?.bytes.length, 1500);
      assert.equal(head?.truncated, true);
      assert.equal(await storage.write("atc_empty", chunks(0, 0)), 0);
      assert.deepEqual(await storage.read("atc_empty", 100), { bytes: Buffer.alloc(0), truncated: false });
      assert.equal(await storage.open("atc_missing"), undefined);
      assert.equal(await storage.read("atc_missing", 10), undefined);
      await assert.rejects(storage.open("../etc/passwd"), /invalid attachment id/);
    });

    test("a body that fails mid-stream leaves nothing behind, small or multipart", async () => {
      const before = await stored();
      const refused = new Error("limit hit");
      await assert.rejects(storage.write("atc_refused_small", chunks(2, 1000, refused)), refused);
      await assert.rejects(storage.write("atc_refused_large", chunks(7, MB, refused)), refused);
      assert.deepEqual(await stored(), before);
    });

    test("remove deletes the bytes; missing ones are fine", async () => {
      await storage.write("atc_gone", chunks(1, 10));
      await storage.remove(["atc_gone", "atc_never_there"]);
      assert.equal(await storage.open("atc_gone"), undefined);
      assert.ok(!(await stored()).includes("atc_gone"));
    });
  });
}

describe("a server with S3 storage", () => {
  const LIMIT = 64 * 1024;
  let server: TestServer;
  const objects = async () => (await s3.keys()).filter((key) => key.startsWith("attachments/"));
  before(async () => {
    server = await startTestServer({ config: { storage: s3.storage, chatkit: { uploadMaxBytes: LIMIT } } });
  });
  after(() => server.close({ removeData: true }));

  test("uploads go to the bucket; downloads and previews stream from it; deleting removes the object", async () => {
    const bytes = pngBytes(5000);
    const direct = await uploadDirect(server, { name: "cat.png", type: "image/png", bytes });
    assert.equal(direct.status, 200);
    assert.ok((await objects()).includes(`attachments/${direct.body.id}`));
    const download = await fetchBytes(`${server.url}/chatkit/attachments/${direct.body.id}`, await server.token());
    assert.equal(download.status, 200);
    assert.deepEqual(download.bytes, bytes);
    assert.equal(download.headers.get("content-length"), String(bytes.length));
    assert.deepEqual((await fetchBytes(direct.body.preview_url)).bytes, bytes);
    assert.equal((await fetchBytes(`${server.url}/chatkit/attachments/${direct.body.id}`, await server.token("bob@example.com"))).status, 404);

    const created = await server.request("attachments.create", { name: "notes.txt", size: 11, mime_type: "text/plain" });
    const put = await fetch(created.body.upload_descriptor.url, {
      method: "PUT",
      headers: { authorization: `Bearer ${await server.token()}`, "content-type": "text/plain" },
      body: "hello there",
    });
    assert.equal(put.status, 200);
    assert.equal((await fetchBytes(`${server.url}/chatkit/attachments/${created.body.id}`, await server.token())).bytes.toString(), "hello there");

    assert.equal((await server.request("attachments.delete", { attachment_id: direct.body.id })).status, 200);
    assert.ok(!(await objects()).includes(`attachments/${direct.body.id}`));
  });

  test("an upload over the limit is refused while it streams and leaves no object", async () => {
    const before = await objects();
    const tooBig = await uploadDirect(server, { name: "big.txt", type: "text/plain", bytes: "x".repeat(LIMIT + 1) });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.error, "file_too_large");
    const mismatch = await uploadDirect(server, { name: "fake.png", type: "image/png", bytes: "not a png at all, just text".repeat(10) });
    assert.equal(mismatch.status, 415);
    assert.deepEqual(await objects(), before);
  });

  test("deleting a thread and sweeping unsent uploads remove their objects", async () => {
    const owner = await ownerOf(server, "alice@example.com");
    const { body: inThread } = await uploadDirect(server, { name: "t.txt", type: "text/plain", bytes: "in a thread" });
    const { body: unsent } = await uploadDirect(server, { name: "u.txt", type: "text/plain", bytes: "never sent" });
    const { threadId } = await seedThread(server);
    await server.store.attachments.linkToItem(owner, [inThread.id], threadId, "msg_y");
    assert.equal((await server.request("threads.delete", { thread_id: threadId })).status, 200);
    assert.ok(!(await objects()).includes(`attachments/${inThread.id}`));

    await server.db.updateTable("attachments").set({ created_at: 1_000 }).where("id", "=", unsent.id).execute();
    const swept = await sweepUnsentAttachments(server.store.attachments, new S3AttachmentStorage(s3.storage), { now: Date.now(), ttlHours: 1 });
    assert.deepEqual(swept, [unsent.id]);
    assert.ok(!(await objects()).includes(`attachments/${unsent.id}`));
  });
});

test("the model is shown attachments read from the bucket", async () => {
  const fake = await startFakeOpenAI({ chunks: ["seen"] });
  const server = await startTestServer({
    upstream: fake,
    config: { storage: s3.storage },
  });
  try {
    const { body } = await uploadDirect(server, { name: "plan.md", type: "text/markdown", bytes: "# Plan\nship it" });
    const { status } = await server.stream("threads.create", { input: userInput("read this", { attachments: [body.id] }) });
    assert.equal(status, 200);
    const sent = JSON.stringify(fake.requests.at(-1));
    assert.match(sent, /ship it/);
  } finally {
    await server.close({ removeData: true });
    await fake.close();
  }
});
