import type { Attachment } from "../protocol/items.ts";
import type { AttachmentRow } from "../store/schema.ts";
import type { AttachmentFiles } from "./files.ts";

/**
 * Attachments as the rest of the app sees them: bytes on disk plus the wire shape handed to the
 * client. Handlers and the model runner go through this, never through paths of their own.
 */
export class AttachmentService {
  constructor(readonly files: AttachmentFiles) {}

  /** The protocol's Attachment JSON; images carry an absolute `preview_url`. */
  toWire(row: AttachmentRow, publicBaseUrl: string): Attachment {
    const base = { id: row.id, name: row.name, mime_type: row.mime_type, ...(row.thread_id ? { thread_id: row.thread_id } : {}) };
    if (row.mime_type.startsWith("image/")) {
      return { ...base, type: "image", preview_url: `${publicBaseUrl}/chatkit/attachments/${row.id}/preview` };
    }
    return { ...base, type: "file" };
  }
}
