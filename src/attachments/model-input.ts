import type { ChatCompletionContentPart } from "openai/resources/chat/completions";
import type { ResponseInputContent } from "openai/resources/responses/responses";
import type { Attachment } from "../protocol/items.ts";
import { isPreviewableImage } from "./content-types.ts";
import type { AttachmentStorage } from "./files.ts";

/** The most of a text attachment the model is shown; the rest is cut with a note. */
export const MAX_TEXT_ATTACHMENT_BYTES = 100_000;

const TEXT_LIKE_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/yaml",
  "application/x-yaml",
  "application/javascript",
  "application/x-sh",
  "application/sql",
  "application/csv",
  "application/x-ndjson",
  "image/svg+xml",
]);

export function isTextLike(mimeType: string): boolean {
  return mimeType.startsWith("text/") || TEXT_LIKE_TYPES.has(mimeType) || /\+(json|xml)$/.test(mimeType);
}

/** Image formats OpenAI's vision input accepts; other images are named in text instead. */
const MODEL_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);

export interface ModelInputOptions {
  /** Send images as images (the agent's model sees pictures); false names them in text. */
  images: boolean;
}

/** One attachment as the model can take it, whichever API flavour carries it. */
type ModelAttachment =
  | { kind: "image"; dataUrl: string }
  | { kind: "pdf"; dataUrl: string; filename: string }
  | { kind: "text"; text: string };

const quoted = (name: string) => JSON.stringify(name);

async function toModelAttachment(files: AttachmentStorage, attachment: Attachment, options: ModelInputOptions): Promise<ModelAttachment> {
  const { mime_type: mimeType, name } = attachment;
  if (isPreviewableImage(mimeType) && !(options.images && MODEL_IMAGE_TYPES.has(mimeType))) {
    return { kind: "text", text: `[The user attached the image ${quoted(name)} (${mimeType}); it cannot be shown to this model.]` };
  }
  const binary = MODEL_IMAGE_TYPES.has(mimeType) || mimeType === "application/pdf";
  if (!binary && !isTextLike(mimeType)) {
    return { kind: "text", text: `[Attachment ${quoted(name)} (${mimeType}) is a file type the model cannot read.]` };
  }
  const content = await files.read(attachment.id, binary ? Number.MAX_SAFE_INTEGER : MAX_TEXT_ATTACHMENT_BYTES);
  if (!content) return { kind: "text", text: `[Attachment ${quoted(name)} is no longer available.]` };
  if (binary) {
    const dataUrl = `data:${mimeType};base64,${content.bytes.toString("base64")}`;
    return mimeType === "application/pdf" ? { kind: "pdf", dataUrl, filename: name } : { kind: "image", dataUrl };
  }
  const cut = content.truncated ? `\n[… cut at ${MAX_TEXT_ATTACHMENT_BYTES} bytes]` : "";
  const text = content.bytes.toString("utf8");
  return { kind: "text", text: `<attachment name=${quoted(name)} type=${quoted(mimeType)}>\n${text}${cut}\n</attachment>` };
}

/**
 * A user message's attachments as Responses API input parts, read from storage: images as
 * `input_image` (base64 data URL), PDFs as `input_file`, text files as framed `input_text`.
 * Missing files and unreadable types become a short text note; this never throws for them.
 *
 * @example
 * content: [{ type: "input_text", text }, ...(await responsesInputParts(files, item.attachments))]
 */
export async function responsesInputParts(
  files: AttachmentStorage,
  attachments: Attachment[],
  options: ModelInputOptions = { images: true },
): Promise<ResponseInputContent[]> {
  const loaded = await Promise.all(attachments.map((attachment) => toModelAttachment(files, attachment, options)));
  return loaded.map((part): ResponseInputContent => {
    switch (part.kind) {
      case "image":
        return { type: "input_image", image_url: part.dataUrl, detail: "auto" };
      case "pdf":
        return { type: "input_file", file_data: part.dataUrl, filename: part.filename };
      case "text":
        return { type: "input_text", text: part.text };
    }
  });
}

/** The same for Chat Completions: `image_url`, `file` (with `file_data`) and `text` parts. */
export async function chatCompletionParts(
  files: AttachmentStorage,
  attachments: Attachment[],
  options: ModelInputOptions = { images: true },
): Promise<ChatCompletionContentPart[]> {
  const loaded = await Promise.all(attachments.map((attachment) => toModelAttachment(files, attachment, options)));
  return loaded.map((part): ChatCompletionContentPart => {
    switch (part.kind) {
      case "image":
        return { type: "image_url", image_url: { url: part.dataUrl, detail: "auto" } };
      case "pdf":
        return { type: "file", file: { file_data: part.dataUrl, filename: part.filename } };
      case "text":
        return { type: "text", text: part.text };
    }
  });
}
