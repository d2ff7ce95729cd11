import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { AttachmentFiles } from "../src/attachments/files.ts";
import { MAX_TEXT_ATTACHMENT_BYTES, chatCompletionParts, responsesInputParts } from "../src/attachments/model-input.ts";
import type { Attachment } from "../src/protocol/items.ts";
import { tempDataDir } from "./support/app.ts";
import { pngBytes } from "./support/uploads.ts";

describe("attachments as model input", () => {
  let dataDir: string;
  let files: AttachmentFiles;
  const png = pngBytes(300);
  const pdf = Buffer.from("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n");
  const attachments: Attachment[] = [
    { type: "image", id: "atc_img", name: "cat.png", mime_type: "image/png", preview_url: "http://x/p" },
    { type: "file", id: "atc_pdf", name: "report.pdf", mime_type: "application/pdf" },
    { type: "file", id: "atc_txt", name: "notes.md", mime_type: "text/markdown" },
    { type: "file", id: "atc_gone", name: "gone.txt", mime_type: "text/plain" },
    { type: "file", id: "atc_zip", name: "bundle.zip", mime_type: "application/zip" },
  ];

  before(() => {
    dataDir = tempDataDir();
    files = new AttachmentFiles(dataDir);
    writeFileSync(files.pathFor("atc_img"), png);
    writeFileSync(files.pathFor("atc_pdf"), pdf);
    writeFileSync(files.pathFor("atc_txt"), "# Plan\nship it");
    writeFileSync(files.pathFor("atc_zip"), "PK\u0003\u0004");
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("Responses API: images as input_image, PDFs as input_file, text framed as input_text, gaps as notes", async () => {
    const parts = await responsesInputParts(files, attachments);
    assert.deepEqual(parts, [
      { type: "input_image", image_url: `data:image/png;base64,${png.toString("base64")}`, detail: "auto" },
      { type: "input_file", file_data: `data:application/pdf;base64,${pdf.toString("base64")}`, filename: "report.pdf" },
      { type: "input_text", text: '<attachment name="notes.md" type="text/markdown">\n# Plan\nship it\n</attachment>' },
      { type: "input_text", text: '[Attachment "gone.txt" is no longer available.]' },
      { type: "input_text", text: '[Attachment "bundle.zip" (application/zip) is a file type the model cannot read.]' },
    ]);
  });

  test("Chat Completions: image_url, file and text parts", async () => {
    const parts = await chatCompletionParts(files, attachments);
    assert.deepEqual(parts.slice(0, 3), [
      { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}`, detail: "auto" } },
      { type: "file", file: { file_data: `data:application/pdf;base64,${pdf.toString("base64")}`, filename: "report.pdf" } },
      { type: "text", text: '<attachment name="notes.md" type="text/markdown">\n# Plan\nship it\n</attachment>' },
    ]);
    assert.equal(parts[3]!.type, "text");
  });

  test("a long text file is cut at the cap with a note", async () => {
    writeFileSync(files.pathFor("atc_long"), "a".repeat(MAX_TEXT_ATTACHMENT_BYTES + 500));
    const [part] = await responsesInputParts(files, [{ type: "file", id: "atc_long", name: "long.json", mime_type: "application/json" }]);
    assert.equal(part!.type, "input_text");
    const text = (part as { text: string }).text;
    assert.ok(text.includes("a".repeat(MAX_TEXT_ATTACHMENT_BYTES)));
    assert.ok(!text.includes("a".repeat(MAX_TEXT_ATTACHMENT_BYTES + 1)));
    assert.match(text, /cut at 100000 bytes/);
  });

  test("images the model cannot take, or any image for a model without vision, are named in text", async () => {
    writeFileSync(files.pathFor("atc_bmp"), Buffer.from("BM...."));
    const bmp: Attachment = { type: "image", id: "atc_bmp", name: "scan.bmp", mime_type: "image/bmp", preview_url: "http://x/p" };
    assert.deepEqual(await responsesInputParts(files, [bmp]), [
      { type: "input_text", text: '[The user attached the image "scan.bmp" (image/bmp); it cannot be shown to this model.]' },
    ]);
    const textOnly = await chatCompletionParts(files, [attachments[0]!], { images: false });
    assert.deepEqual(textOnly, [{ type: "text", text: '[The user attached the image "cat.png" (image/png); it cannot be shown to this model.]' }]);
  });
});
