import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync, utimesSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import Keygrip from "keygrip";
import { AttachmentFiles } from "../src/attachments/files.ts";
import { PreviewLinks } from "../src/attachments/preview-links.ts";
import { sweepUnsentAttachments } from "../src/attachments/sweep.ts";
import { resolveCookieKeys } from "../src/config/secrets.ts";
import { monotonicNow, toIso } from "../src/core/clock.ts";
import { newId } from "../src/core/ids.ts";
import { startTestServer, type TestServer } from "./support/app.ts";
import { ownerOf, seedThread } from "./support/fixtures.ts";
import { attachmentDirEntries, fetchBytes, pngBytes, uploadDirect } from "./support/uploads.ts";

const LIMIT = 4096;

describe("attachments", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { chatkit: { uploadMaxBytes: LIMIT } } });
  });
  after(() => server.close({ removeData: true }));

  const rowOf = (id: string) => server.db.selectFrom("attachments").selectAll().where("id", "=", id).executeTakeFirst();

  test("a direct upload answers the attachment JSON, and its preview and download give back the same bytes", async () => {
    const bytes = pngBytes(1000);
    const { status, body } = await uploadDirect(server, { name: "cat.png", type: "image/png", bytes });
    assert.equal(status, 200);
    assert.equal(body.type, "image");
    assert.match(body.id, /^atc_/);
    assert.equal(body.name, "cat.png");
    assert.equal(body.mime_type, "image/png");
    assert.equal(body.upload_descriptor, undefined);
    assert.ok(body.preview_url.startsWith(`${server.url}/`), "absolute preview URL");
    assert.deepEqual(readFileSync(path.join(server.dataDir, "attachments", body.id)), bytes);
    assert.equal((await rowOf(body.id))?.status, "ready");

    const preview = await fetchBytes(body.preview_url);
    assert.equal(preview.status, 200, "an <img> loads it without a bearer header");
    assert.deepEqual(preview.bytes, bytes);
    assert.equal(preview.headers.get("content-type"), "image/png");
    assert.equal(preview.headers.get("x-content-type-options"), "nosniff");

    const download = await fetchBytes(`${server.url}/chatkit/attachments/${body.id}`, await server.token());
    assert.equal(download.status, 200);
    assert.deepEqual(download.bytes, bytes);
    assert.equal(download.headers.get("content-type"), "image/png");
    assert.equal(download.headers.get("x-content-type-options"), "nosniff");
    assert.match(download.headers.get("content-disposition") ?? "", /^inline; filename="cat.png"; filename\*=UTF-8''cat.png$/);
  });

  test("two-phase upload: attachments.create hands out an upload descriptor, PUT sends the raw bytes", async () => {
    const bytes = pngBytes(600);
    const created = await server.request("attachments.create", { name: "photo.png", size: bytes.length, mime_type: "image/png" });
    assert.equal(created.status, 200);
    assert.equal(created.body.type, "image");
    assert.ok(created.body.preview_url);
    assert.deepEqual(created.body.upload_descriptor, { url: `${server.url}/chatkit/upload/${created.body.id}`, method: "PUT", headers: {} });
    assert.equal((await rowOf(created.body.id))?.status, "pending");

    const token = await server.token();
    const put = await fetch(created.body.upload_descriptor.url, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "image/png" },
      body: bytes,
    });
    assert.equal(put.status, 200);
    const uploaded = (await put.json()) as any;
    assert.equal(uploaded.id, created.body.id);
    assert.equal(uploaded.upload_descriptor, undefined, "the descriptor is gone once the bytes are stored");
    assert.equal((await rowOf(uploaded.id))?.status, "ready");
    assert.deepEqual((await fetchBytes(`${server.url}/chatkit/attachments/${uploaded.id}`, token)).bytes, bytes);
    assert.deepEqual((await fetchBytes(uploaded.preview_url)).bytes, bytes);

    const again = await fetch(created.body.upload_descriptor.url, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: bytes });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as any).error, "already_uploaded");
  });

  test("two-phase upload also takes the bytes as a POSTed multipart file", async () => {
    const text = "hello, attachments\n";
    const created = await server.request("attachments.create", { name: "notes.txt", size: text.length, mime_type: "text/plain" });
    assert.equal(created.body.type, "file");
    assert.equal(created.body.preview_url, undefined);
    const form = new FormData();
    form.append("file", new Blob([text], { type: "text/plain" }), "notes.txt");
    const response = await fetch(created.body.upload_descriptor.url, {
      method: "POST",
      headers: { authorization: `Bearer ${await server.token()}` },
      body: form,
    });
    assert.equal(response.status, 200);
    const download = await fetchBytes(`${server.url}/chatkit/attachments/${created.body.id}`, await server.token());
    assert.equal(download.bytes.toString(), text);
    assert.match(download.headers.get("content-disposition") ?? "", /^attachment; /);
  });

  test("two-phase bytes beyond the declared size are refused with 413; the attachment stays pending and no file is left", async () => {
    const created = await server.request("attachments.create", { name: "small.txt", size: 10, mime_type: "text/plain" });
    const before = attachmentDirEntries(server);
    const response = await fetch(created.body.upload_descriptor.url, {
      method: "PUT",
      headers: { authorization: `Bearer ${await server.token()}`, "content-type": "text/plain" },
      body: "x".repeat(11),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as any).error, "file_too_large");
    assert.equal((await rowOf(created.body.id))?.status, "pending");
    assert.deepEqual(attachmentDirEntries(server), before);

    const tooBig = await server.request("attachments.create", { name: "big.bin", size: LIMIT + 1, mime_type: "application/zip" });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.error, "file_too_large");
  });

  test("attachments.delete removes the row and the file and answers {}", async () => {
    const { body } = await uploadDirect(server, { name: "a.txt", type: "text/plain", bytes: "bye" });
    const file = path.join(server.dataDir, "attachments", body.id);
    assert.ok(existsSync(file));
    const deleted = await server.request("attachments.delete", { attachment_id: body.id });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, {});
    assert.equal(existsSync(file), false);
    assert.equal(await rowOf(body.id), undefined);
    const again = await server.request("attachments.delete", { attachment_id: body.id });
    assert.equal(again.status, 404);
    assert.equal(again.body.error, "attachment_not_found");
  });

  test("only the owner reaches an attachment: anyone else gets 404 as if it did not exist", async () => {
    const { body } = await uploadDirect(server, { name: "secret.txt", type: "text/plain", bytes: "alice's" });
    const pending = await server.request("attachments.create", { name: "p.txt", size: 3, mime_type: "text/plain" });
    const bob = await server.token("bob@example.com");

    const download = await fetchBytes(`${server.url}/chatkit/attachments/${body.id}`, bob);
    assert.equal(download.status, 404);
    assert.equal(JSON.parse(download.bytes.toString()).error, "attachment_not_found");
    const deleted = await server.request("attachments.delete", { attachment_id: body.id }, { token: bob });
    assert.equal(deleted.status, 404);
    assert.equal(deleted.body.error, "attachment_not_found");
    const upload = await fetch(pending.body.upload_descriptor.url, { method: "PUT", headers: { authorization: `Bearer ${bob}` }, body: "abc" });
    assert.equal(upload.status, 404);
    assert.deepEqual(await server.store.attachments.getMany(await ownerOf(server, "bob@example.com"), [body.id]), []);
    assert.ok(existsSync(path.join(server.dataDir, "attachments", body.id)), "still there for alice");

    const anonymous = await fetchBytes(`${server.url}/chatkit/attachments/${body.id}`);
    assert.equal(anonymous.status, 401);
    const anonymousUpload = await fetch(`${server.url}/chatkit/upload`, { method: "POST", body: new FormData() });
    assert.equal(anonymousUpload.status, 401);
  });

  test("only uploaded attachments can go with a message", async () => {
    const owner = await ownerOf(server, "alice@example.com");
    const pending = await server.request("attachments.create", { name: "later.txt", size: 3, mime_type: "text/plain" });
    const { body: ready } = await uploadDirect(server, { name: "now.txt", type: "text/plain", bytes: "now" });
    const rows = await server.store.attachments.getMany(owner, [pending.body.id, ready.id, "atc_unknown"]);
    assert.deepEqual(rows.map((row) => row.id), [ready.id]);
  });

  test("an upload over the limit is stopped with 413 and leaves no file and no row", async () => {
    const countRows = async () => (await server.db.selectFrom("attachments").select("id").execute()).length;
    const rowsBefore = await countRows();
    const filesBefore = attachmentDirEntries(server);
    const atLimit = await uploadDirect(server, { name: "exact.bin", type: "application/octet-stream", bytes: Buffer.alloc(LIMIT, 1) });
    assert.equal(atLimit.status, 200, "exactly the limit is fine");

    const over = await uploadDirect(server, { name: "huge.bin", type: "application/octet-stream", bytes: Buffer.alloc(LIMIT * 50, 1) });
    assert.equal(over.status, 413);
    assert.equal(over.body.error, "file_too_large");
    assert.equal(over.body.max_bytes, LIMIT);
    assert.equal(await countRows(), rowsBefore + 1);
    assert.deepEqual(attachmentDirEntries(server), [...filesBefore, atLimit.body.id].sort(), "no temporary file left behind");
  });

  test("content that contradicts its declared type is refused with 415 file_type_mismatch", async () => {
    const filesBefore = attachmentDirEntries(server);
    const html = "<html><script>alert(1)</script></html>";
    const fakePng = await uploadDirect(server, { name: "evil.png", type: "image/png", bytes: html });
    assert.equal(fakePng.status, 415);
    assert.equal(fakePng.body.error, "file_type_mismatch");
    const byExtension = await uploadDirect(server, { name: "evil.png", type: "application/octet-stream", bytes: html });
    assert.equal(byExtension.status, 415, "a generic type falls back to the name's extension");
    const disguised = await uploadDirect(server, { name: "notes.txt", type: "text/plain", bytes: pngBytes(100) });
    assert.equal(disguised.status, 415);
    const pdf = await uploadDirect(server, { name: "r.pdf", type: "application/pdf", bytes: "%PDF-1.7\n..." });
    assert.equal(pdf.status, 200);
    assert.equal(pdf.body.type, "file");
    assert.deepEqual(attachmentDirEntries(server), [...filesBefore, pdf.body.id].sort());
  });

  test("hostile file names are kept only as clean display text", async () => {
    const cases: Array<[string, (name: string) => void]> = [
      ["../../etc/passwd", (name) => assert.equal(name, "passwd")],
      ["..\\..\\boot.ini", (name) => assert.equal(name, "boot.ini")],
      ["a\u0000b\u0007c.txt", (name) => assert.equal(name, "abc.txt")],
      ["evil\u202Etxt.exe", (name) => assert.equal(name, "eviltxt.exe")],
      [`${"x".repeat(300)}.txt`, (name) => assert.equal(name, `${"x".repeat(196)}.txt`)],
      ["..", (name) => assert.equal(name, "file")],
    ];
    for (const [raw, check] of cases) {
      const { status, body } = await uploadDirect(server, { name: raw, type: "text/plain", bytes: "data" });
      assert.equal(status, 200, raw);
      check(body.name);
      assert.ok(existsSync(path.join(server.dataDir, "attachments", body.id)), "stored under its id");
      const created = await server.request("attachments.create", { name: raw, size: 4, mime_type: "text/plain" });
      check(created.body.name);
    }
    assert.equal(existsSync(path.join(server.dataDir, "etc")), false);
  });

  test("HTML and SVG are only ever downloads in a sandbox, never pages of our origin", async () => {
    const token = await server.token();
    for (const [name, type, bytes] of [
      ["page.html", "text/html", "<script>alert(document.cookie)</script>"],
      ["logo.svg", "image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
    ] as const) {
      const { body } = await uploadDirect(server, { name, type, bytes });
      assert.equal(body.type, "file", `${name} gets no inline preview`);
      const download = await fetchBytes(`${server.url}/chatkit/attachments/${body.id}`, token);
      assert.equal(download.status, 200);
      assert.match(download.headers.get("content-disposition") ?? "", /^attachment; /);
      assert.match(download.headers.get("content-security-policy") ?? "", /sandbox/);
      assert.equal(download.headers.get("x-content-type-options"), "nosniff");
    }
    const { body } = await uploadDirect(server, { name: "résumé \"final\".pdf", type: "application/pdf", bytes: "%PDF-1.4" });
    const download = await fetchBytes(`${server.url}/chatkit/attachments/${body.id}`, token);
    assert.equal(
      download.headers.get("content-disposition"),
      `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`,
    );
  });

  test("a refused type is 415 for both strategies", async () => {
    const strict = await startTestServer({ config: { chatkit: { allowedMimeTypes: ["image/*", "application/pdf"] } } });
    try {
      const text = await uploadDirect(strict, { name: "a.txt", type: "text/plain", bytes: "no" });
      assert.equal(text.status, 415);
      assert.equal(text.body.error, "unsupported_file_type");
      const created = await strict.request("attachments.create", { name: "a.zip", size: 3, mime_type: "application/zip" });
      assert.equal(created.status, 415);
      assert.equal(created.body.error, "unsupported_file_type");
      const png = await uploadDirect(strict, { name: "ok.png", type: "image/png", bytes: pngBytes(64) });
      assert.equal(png.status, 200);
      assert.deepEqual(attachmentDirEntries(strict), [png.body.id]);
    } finally {
      await strict.close({ removeData: true });
    }
  });

  test("preview URLs with a forged, borrowed or expired signature are refused", async () => {
    const { body } = await uploadDirect(server, { name: "p.png", type: "image/png", bytes: pngBytes(100) });
    const { body: other } = await uploadDirect(server, { name: "q.png", type: "image/png", bytes: pngBytes(120) });
    const valid = new URL(body.preview_url);
    assert.equal((await fetchBytes(valid.href)).status, 200);

    const forged = new URL(valid);
    forged.searchParams.set("sig", `${valid.searchParams.get("sig")!.slice(0, -2)}xx`);
    assert.equal((await fetchBytes(forged.href)).status, 404);
    const extended = new URL(valid);
    extended.searchParams.set("expires", String(Number(valid.searchParams.get("expires")) + 3600));
    assert.equal((await fetchBytes(extended.href)).status, 404);
    const borrowed = new URL(other.preview_url);
    borrowed.pathname = valid.pathname;
    assert.equal((await fetchBytes(borrowed.href)).status, 404);
    const unsigned = new URL(valid);
    unsigned.search = "";
    assert.equal((await fetchBytes(unsigned.href)).status, 404);

    const keys = new Keygrip(resolveCookieKeys(server.config), "sha256");
    const expired = new PreviewLinks(keys, () => Date.now() - 2 * 60 * 60 * 1000).urlFor(body.id, server.url);
    assert.equal((await fetchBytes(expired)).status, 404);
    const fresh = new PreviewLinks(keys).urlFor(body.id, server.url);
    assert.equal((await fetchBytes(fresh)).status, 200, "the same keys sign a working URL");
  });

  test("stored messages leave the server with freshly signed preview URLs", async () => {
    const { body } = await uploadDirect(server, { name: "p.png", type: "image/png", bytes: pngBytes(90) });
    const { threadId, owner } = await seedThread(server);
    const item = {
      id: newId("message"),
      thread_id: threadId,
      created_at: toIso(monotonicNow()),
      type: "user_message" as const,
      content: [{ type: "input_text" as const, text: "look" }],
      attachments: [{ ...body, thread_id: threadId, preview_url: "http://stale.invalid/old" }],
      inference_options: {},
    };
    await server.store.items.add(owner, item);
    const listed = await server.request("items.list", { thread_id: threadId });
    const thread = await server.request("threads.get_by_id", { thread_id: threadId });
    for (const attachment of [listed.body.data[0].attachments[0], thread.body.items.data[0].attachments[0]]) {
      assert.ok(attachment.preview_url.startsWith(`${server.url}/chatkit/attachments/${body.id}/preview?`));
      assert.equal((await fetchBytes(attachment.preview_url)).status, 200);
    }
  });

  test("uploads never sent with a message are swept after the TTL; sent ones and fresh ones stay", async () => {
    const owner = await ownerOf(server, "alice@example.com");
    const { body: old } = await uploadDirect(server, { name: "old.txt", type: "text/plain", bytes: "old" });
    const oldPending = await server.request("attachments.create", { name: "p.txt", size: 3, mime_type: "text/plain" });
    const { body: sent } = await uploadDirect(server, { name: "sent.txt", type: "text/plain", bytes: "sent" });
    const { body: recent } = await uploadDirect(server, { name: "new.txt", type: "text/plain", bytes: "new" });
    const { threadId } = await seedThread(server);
    await server.store.attachments.linkToItem(owner, [sent.id], threadId, "msg_x");
    const now = Date.now();
    const longAgo = now - 25 * 60 * 60 * 1000;
    await server.db.updateTable("attachments").set({ created_at: longAgo }).where("id", "in", [old.id, oldPending.body.id, sent.id]).execute();
    const files = new AttachmentFiles(server.dataDir);
    const crashed = path.join(files.dir, ".upload-atc_crashed-000000");
    writeFileSync(crashed, "half");
    utimesSync(crashed, longAgo / 1000, longAgo / 1000);

    const swept = await sweepUnsentAttachments(server.store.attachments, files, { now, ttlHours: 24 });
    assert.deepEqual(swept.sort(), [old.id, oldPending.body.id].sort());
    assert.equal(await rowOf(old.id), undefined);
    assert.equal(existsSync(files.pathFor(old.id)), false);
    assert.equal(existsSync(crashed), false, "a crash's temporary file goes too");
    assert.ok(existsSync(files.pathFor(sent.id)));
    assert.ok(existsSync(files.pathFor(recent.id)));
  });

  test("deleting a thread removes the files of its attachments", async () => {
    const owner = await ownerOf(server, "alice@example.com");
    const { body } = await uploadDirect(server, { name: "t.txt", type: "text/plain", bytes: "in a thread" });
    const { threadId } = await seedThread(server);
    await server.store.attachments.linkToItem(owner, [body.id], threadId, "msg_y");
    const deleted = await server.request("threads.delete", { thread_id: threadId });
    assert.equal(deleted.status, 200);
    assert.equal(existsSync(path.join(server.dataDir, "attachments", body.id)), false);
    assert.equal(await rowOf(body.id), undefined);
  });

  test("fields after the file part do not fail a direct upload", async () => {
    const form = new FormData();
    form.append("file", new Blob(["hello"], { type: "text/plain" }), "a.txt");
    form.append("purpose", "x".repeat(20_000));
    const response = await fetch(`${server.url}/chatkit/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${await server.token()}` },
      body: form,
    });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).name, "a.txt");
  });

  test("an upload without a multipart file field is 400 upload_required", async () => {
    const token = await server.token();
    const form = new FormData();
    form.append("other", "value");
    const noFile = await fetch(`${server.url}/chatkit/upload`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
    assert.equal(noFile.status, 400);
    assert.equal(((await noFile.json()) as any).error, "upload_required");
    const raw = await fetch(`${server.url}/chatkit/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "image/png" },
      body: pngBytes(30),
    });
    assert.equal(raw.status, 400);
    const truncated = await fetch(`${server.url}/chatkit/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=XyZ" },
      body: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nunfinished',
    });
    assert.equal(truncated.status, 400);
    assert.ok(!attachmentDirEntries(server).some((name) => name.startsWith(".")), "no temporary file left behind");
  });
});
