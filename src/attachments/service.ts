import type { Readable } from "node:stream";
import type Keygrip from "keygrip";
import { ChatkitError } from "../core/errors.ts";
import type { Attachment, ThreadItem } from "../protocol/items.ts";
import { newId } from "../core/ids.ts";
import type { AttachmentRow, AttachmentStore, Owner } from "../store/index.ts";
import {
  SNIFF_BYTES,
  contradictsDeclaredType,
  declaredMimeType,
  displayName,
  isAllowedMimeType,
  isPreviewableImage,
  normalizeMimeType,
  sniffMimeType,
} from "./content-types.ts";
import type { AttachmentStorage } from "./files.ts";
import { consumeMultipartFile } from "./multipart.ts";
import { PreviewLinks } from "./preview-links.ts";

export interface AttachmentLimits {
  /** `chatkit.uploadMaxBytes`: the largest file accepted, in bytes. */
  maxBytes: number;
  /** `chatkit.allowedMimeTypes`: exact types or `type/*`; empty allows all. */
  allowedMimeTypes: readonly string[];
}

/** The user's stored-bytes quota and uploads in flight (QuotaService): reservations made before any byte is read. */
export interface UploadQuota {
  /** Reserves room for at most `bytes`; throws the refusal (413 / 429). Returns the reservation's id. */
  reserveUpload(userId: string, bytes: number): Promise<string>;
  release(reservationId: string): Promise<void>;
  /** Throws 413 when `bytes` more would not fit, reserving nothing (for a declared size). */
  requireRoomFor(userId: string, bytes: number): Promise<void>;
}

export interface AttachmentServiceDeps {
  files: AttachmentStorage;
  store: AttachmentStore;
  /** Signs preview URLs; the app's cookie keys. */
  keys: Keygrip;
  limits: AttachmentLimits;
  quota: UploadQuota;
  now?: () => number;
}

/** An upload's bytes as they arrive: a raw body (PUT) or a multipart one (field `file`). */
export interface IncomingUpload {
  body: AsyncIterable<Buffer>;
  contentType: string | undefined;
  /** The request's Content-Length, when it sent one. */
  contentLength: number | undefined;
}

/** An attachment's stored bytes, ready to be served. */
export interface StoredFile {
  row: AttachmentRow;
  stream: Readable;
  size: number;
}

export const UPLOAD_FIELD = "file";

const notFound = () => new ChatkitError(404, "attachment_not_found");
const isMultipart = (upload: IncomingUpload) => Boolean(upload.contentType && /^multipart\/form-data/i.test(upload.contentType));

/**
 * An attachment belongs to one message: its file is deleted with that message's thread, so
 * sending it again (to another thread, or twice) would leave the other message pointing at
 * nothing. The client uploads the file again instead.
 */
export const attachmentAlreadySent = (attachmentId: string) => new ChatkitError(409, "attachment_already_sent", { attachment_id: attachmentId });
const sizeMismatch = (declared: number) => new ChatkitError(400, "upload_size_mismatch", { size: declared });
const tooLarge = (maxBytes: number) => new ChatkitError(413, "file_too_large", { max_bytes: maxBytes });

/**
 * Passes the bytes through while enforcing, as they stream in, the size limit and that the
 * first bytes do not contradict the declared type. Throwing stops the upload where it is.
 */
async function* checkedWhileStreaming(body: AsyncIterable<Buffer>, maxBytes: number, declaredType: string): AsyncGenerator<Buffer> {
  let size = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  const checkHead = (bytes: Buffer) => {
    if (contradictsDeclaredType(declaredType, bytes)) throw new ChatkitError(415, "file_type_mismatch", { mime_type: declaredType });
  };
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    if (head) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= SNIFF_BYTES) {
        checkHead(head);
        head = undefined;
      }
    }
    yield chunk;
  }
  if (head) checkHead(head);
}

/** An ASCII-only stand-in for a file name, for clients that ignore `filename*`. */
function asciiFileName(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
}

/** RFC 5987 `ext-value` encoding (RFC 6266's `filename*`). */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Headers for serving an attachment's bytes on our origin. Only raster images are shown inline;
 * everything else (HTML and SVG above all) is a download in a sandbox, so a file can never run
 * as a page of this server.
 */
export function attachmentResponseHeaders(row: AttachmentRow, size: number): Record<string, string> {
  const inline = isPreviewableImage(row.mime_type);
  const disposition = `${inline ? "inline" : "attachment"}; filename="${asciiFileName(row.name)}"; filename*=UTF-8''${encodeExtValue(row.name)}`;
  return {
    "Content-Type": row.mime_type,
    "Content-Length": String(size),
    "Content-Disposition": disposition,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": inline ? "sandbox" : "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}

/**
 * Attachments as the rest of the app sees them: bytes on disk plus the wire shape handed to the
 * client. Handlers, upload routes and the model runner go through this, never through paths of
 * their own.
 */
export class AttachmentService {
  readonly files: AttachmentStorage;
  private readonly store: AttachmentStore;
  private readonly limits: AttachmentLimits;
  private readonly quota: UploadQuota;
  private readonly previews: PreviewLinks;

  constructor(deps: AttachmentServiceDeps) {
    this.files = deps.files;
    this.store = deps.store;
    this.limits = deps.limits;
    this.quota = deps.quota;
    this.previews = new PreviewLinks(deps.keys, deps.now);
  }

  /**
   * The protocol's Attachment JSON. Images carry an absolute, freshly signed `preview_url`; an
   * attachment still waiting for its bytes carries the `upload_descriptor` to send them to.
   */
  toWire(row: AttachmentRow, publicBaseUrl: string): Attachment {
    const wire: Attachment = isPreviewableImage(row.mime_type)
      ? { type: "image", id: row.id, name: row.name, mime_type: row.mime_type, preview_url: this.previews.urlFor(row.id, publicBaseUrl) }
      : { type: "file", id: row.id, name: row.name, mime_type: row.mime_type };
    if (row.thread_id) wire.thread_id = row.thread_id;
    if (row.status === "pending") wire.upload_descriptor = { url: `${publicBaseUrl}/chatkit/upload/${row.id}`, method: "PUT", headers: {} };
    return wire;
  }

  /** A stored item as it may leave the server: a user message's image previews and a generated image's link are re-signed. */
  private withFreshPreviewUrls(item: ThreadItem, publicBaseUrl: string): ThreadItem {
    if (item.type === "generated_image" && item.image?.url.includes(`/chatkit/attachments/${item.image.id}/preview?`)) {
      return { ...item, image: { id: item.image.id, url: this.previews.urlFor(item.image.id, publicBaseUrl) } };
    }
    if (item.type !== "user_message" || !item.attachments.some((a) => a.type === "image")) return item;
    const attachments = item.attachments.map((attachment) =>
      attachment.type === "image" ? { ...attachment, preview_url: this.previews.urlFor(attachment.id, publicBaseUrl) } : attachment,
    );
    return { ...item, attachments };
  }

  /**
   * `withFreshPreviewUrls` on an item's stored JSON. Only items that mention an image (an image
   * attachment, a generated image) can hold a preview link, so only those are parsed (and only
   * then is the base URL worked out).
   */
  withFreshPreviewUrlsInJson(json: string, publicBaseUrl: () => string): string {
    if (!json.includes("image")) return json;
    const item = JSON.parse(json) as ThreadItem;
    const fresh = this.withFreshPreviewUrls(item, publicBaseUrl());
    return fresh === item ? json : JSON.stringify(fresh);
  }

  private requireAllowedType(mimeType: string): void {
    if (!isAllowedMimeType(mimeType, this.limits.allowedMimeTypes)) {
      throw new ChatkitError(415, "unsupported_file_type", { mime_type: mimeType });
    }
  }

  /** `attachments.create`: a pending attachment, refused early when its type or size cannot be accepted. */
  async createPending(owner: Owner, params: { name: string; size: number; mime_type: string }): Promise<AttachmentRow> {
    const mimeType = normalizeMimeType(params.mime_type);
    if (!mimeType) throw new ChatkitError(415, "unsupported_file_type", { mime_type: params.mime_type });
    this.requireAllowedType(mimeType);
    if (params.size > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    await this.quota.requireRoomFor(owner.userId, params.size);
    return this.store.create(owner, { name: displayName(params.name), mime_type: mimeType, size_bytes: params.size });
  }

  /**
   * `POST /chatkit/upload`: stores a multipart `file` as a new, ready attachment. On any refusal
   * nothing is left behind: no file, no row.
   */
  async receiveDirect(owner: Owner, upload: IncomingUpload): Promise<AttachmentRow> {
    const id = newId("attachment");
    // The multipart body holds the file and a little framing: its length bounds the file's.
    const atMost = Math.min(this.limits.maxBytes, upload.contentLength ?? this.limits.maxBytes);
    const reservation = await this.quota.reserveUpload(owner.userId, atMost);
    try {
      return await consumeMultipartFile(upload.body, upload.contentType, UPLOAD_FIELD, async (file) => {
        const name = displayName(file.fileName);
        const mimeType = declaredMimeType(file.contentType, name);
        if (!mimeType) throw new ChatkitError(415, "unsupported_file_type", { mime_type: file.contentType });
        this.requireAllowedType(mimeType);
        const size = await this.files.write(id, checkedWhileStreaming(file.body, atMost, mimeType));
        try {
          return await this.store.createUploaded(owner, { id, name, mime_type: mimeType, size_bytes: size }, reservation);
        } catch (error) {
          await this.files.remove([id]);
          throw error;
        }
      });
    } catch (error) {
      await this.quota.release(reservation);
      throw error;
    }
  }

  /**
   * The second phase of a two-phase upload: the bytes for a pending attachment, as a raw body
   * (PUT) or a multipart `file` (POST). They may not exceed the size declared in
   * `attachments.create`, and must be exactly that many (400 upload_size_mismatch otherwise); on
   * refusal the attachment stays pending and no file is left.
   */
  async receiveUpload(owner: Owner, attachmentId: string, upload: IncomingUpload): Promise<AttachmentRow> {
    const row = await this.store.get(owner, attachmentId);
    if (!row) throw notFound();
    this.requireAllowedType(row.mime_type);
    const maxBytes = Math.min(this.limits.maxBytes, row.size_bytes);
    if (upload.contentLength !== undefined && upload.contentLength > maxBytes && !isMultipart(upload)) throw tooLarge(maxBytes);
    if (row.status !== "pending") throw new ChatkitError(409, "already_uploaded");
    if (upload.contentLength !== undefined && upload.contentLength !== row.size_bytes && !isMultipart(upload)) throw sizeMismatch(row.size_bytes);
    const reservation = await this.quota.reserveUpload(owner.userId, maxBytes);
    if (!(await this.store.claimForUpload(owner, row.id))) {
      await this.quota.release(reservation);
      throw new ChatkitError(409, "already_uploaded");
    }

    const write = (body: AsyncIterable<Buffer>) => this.files.write(row.id, checkedWhileStreaming(body, maxBytes, row.mime_type));
    let size: number;
    try {
      size = isMultipart(upload)
        ? await consumeMultipartFile(upload.body, upload.contentType!, UPLOAD_FIELD, (file) => write(file.body))
        : await write(upload.body);
      // Fewer bytes than declared: a cut or lying client; the attachment stays pending for a retry.
      if (size !== row.size_bytes) {
        await this.files.remove([row.id]);
        throw sizeMismatch(row.size_bytes);
      }
    } catch (error) {
      await this.store.releaseUpload(owner, row.id);
      await this.quota.release(reservation);
      throw error;
    }
    const ready = await this.store.markUploaded(owner, row.id, size, reservation);
    if (!ready) {
      // Deleted while the bytes arrived: nothing may keep them.
      await this.files.remove([row.id]);
      throw notFound();
    }
    return ready;
  }

  /**
   * An image the model generated (base64 from the upstream), kept like an uploaded image: bytes
   * in the attachment storage owned by the thread's user, linked to its `generated_image` item, shown by a
   * signed preview URL that is re-signed whenever the item is read, downloadable by its owner.
   */
  async saveGeneratedImage(owner: Owner, params: { threadId: string; itemId: string; base64: string; publicBaseUrl: string }): Promise<{ id: string; url: string }> {
    const bytes = Buffer.from(params.base64, "base64");
    if (bytes.length > this.limits.maxBytes) throw tooLarge(this.limits.maxBytes);
    const mimeType = sniffMimeType(bytes.subarray(0, SNIFF_BYTES));
    if (!mimeType || !isPreviewableImage(mimeType)) throw new ChatkitError(502, "unsupported_file_type", { mime_type: mimeType ?? "unknown" });
    const id = newId("attachment");
    const reservation = await this.quota.reserveUpload(owner.userId, bytes.length);
    try {
      const size = await this.files.write(id, (async function* () {
        yield bytes;
      })());
      await this.store.createUploaded(owner, { id, name: `generated-image.${mimeType.slice("image/".length)}`, mime_type: mimeType, size_bytes: size }, reservation);
      await this.store.linkToItem(owner, [id], params.threadId, params.itemId);
    } catch (error) {
      await this.files.remove([id]);
      await this.quota.release(reservation);
      throw error;
    }
    return { id, url: this.previews.urlFor(id, params.publicBaseUrl) };
  }

  /** `attachments.delete`: the row and the file. 404 when it is not the owner's. */
  async delete(owner: Owner, attachmentId: string): Promise<void> {
    if (!(await this.store.delete(owner, attachmentId))) throw notFound();
    await this.files.remove([attachmentId]);
  }

  /**
   * The attachments a user message names, checked before anything is streamed: each must be the
   * owner's and uploaded, else 404 `attachment_not_found` (with the first bad id), and not yet
   * sent with another message, else 409 `attachment_already_sent`.
   */
  async requireReady(owner: Owner, ids: string[]): Promise<AttachmentRow[]> {
    const unique = [...new Set(ids)];
    const rows = await this.store.getMany(owner, unique);
    const missing = unique.find((id) => !rows.some((row) => row.id === id));
    if (missing !== undefined) throw new ChatkitError(404, "attachment_not_found", { attachment_id: missing });
    const sent = rows.find((row) => row.item_id !== null);
    if (sent) throw attachmentAlreadySent(sent.id);
    return rows;
  }

  /**
   * Links checked attachments to the user message about to be stored. One that another message
   * took meanwhile is a 409, as in `requireReady`.
   */
  async attachToMessage(owner: Owner, rows: AttachmentRow[], threadId: string, itemId: string): Promise<void> {
    const linked = await this.store.linkToItem(owner, rows.map((row) => row.id), threadId, itemId);
    if (linked !== rows.length) throw attachmentAlreadySent(rows[0]!.id);
  }

  /** The wire JSON of checked attachments once linked to a user message (with `thread_id`). */
  linkedToMessage(rows: AttachmentRow[], threadId: string, itemId: string, publicBaseUrl: string): Attachment[] {
    return rows.map((row) => this.toWire({ ...row, thread_id: threadId, item_id: itemId }, publicBaseUrl));
  }

  /** The owner's uploaded bytes for a download; 404 for anyone else, as if it did not exist. */
  async fileForOwner(owner: Owner, attachmentId: string): Promise<StoredFile> {
    return this.storedFile(await this.store.get(owner, attachmentId));
  }

  /** The bytes behind a signed preview URL; 404 for a forged or expired signature. */
  async fileForPreview(attachmentId: string, expires: unknown, signature: unknown): Promise<StoredFile> {
    if (!this.previews.verify(attachmentId, expires, signature)) throw notFound();
    const row = await this.store.getForSignedLink(attachmentId);
    if (!row || !isPreviewableImage(row.mime_type)) throw notFound();
    return this.storedFile(row);
  }

  private async storedFile(row: AttachmentRow | undefined): Promise<StoredFile> {
    if (!row || row.status !== "ready") throw notFound();
    const stored = await this.files.open(row.id);
    if (!stored) throw notFound();
    return { row, ...stored };
  }
}
