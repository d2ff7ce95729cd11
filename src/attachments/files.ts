import { randomBytes } from "node:crypto";
import { constants, mkdirSync } from "node:fs";
import { access, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";

/**
 * Where attachment bytes live, named by attachment id: the data dir (AttachmentFiles, the
 * default) or an S3-compatible bucket (S3AttachmentStorage, for several servers).
 */
export interface AttachmentStorage {
  /** Where the bytes are, for logs and `check`, without credentials. */
  readonly description: string;
  /**
   * Stores `body` under the id, all or nothing: if `body` throws (a limit hit mid-stream) or the
   * upload breaks, nothing is left under the id or anywhere else, and the error is rethrown.
   * Returns the number of bytes stored.
   */
  write(attachmentId: string, body: AsyncIterable<Buffer>): Promise<number>;
  /** The stored bytes as a stream with their size, or undefined when they are missing. */
  open(attachmentId: string): Promise<{ size: number; stream: Readable } | undefined>;
  /** At most `maxBytes` of the stored bytes, or undefined when they are missing. */
  read(attachmentId: string, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean } | undefined>;
  /** Removes the bytes of these attachments; missing ones are fine. */
  remove(attachmentIds: string[]): Promise<void>;
  /** Removes what a crash mid-upload left behind before `cutoff` (ms); returns how many. */
  removeStale(cutoff: number): Promise<number>;
  /** Throws when the storage cannot be reached or written. */
  check(): Promise<void>;
}

/** Attachment ids become file names and object keys: only these characters are allowed. */
export function checkedAttachmentId(attachmentId: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(attachmentId)) throw new Error(`invalid attachment id ${JSON.stringify(attachmentId)}`);
  return attachmentId;
}

/** Uploads in progress are written under this prefix and renamed into place when complete. */
const TEMP_PREFIX = ".upload-";

/** Attachment bytes on disk: `<data dir>/attachments/<id>`, named by id, never by the user's file name. */
export class AttachmentFiles implements AttachmentStorage {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "attachments");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  get description(): string {
    return `${this.dir} (data dir)`;
  }

  pathFor(attachmentId: string): string {
    return path.join(this.dir, checkedAttachmentId(attachmentId));
  }

  write(attachmentId: string, body: AsyncIterable<Buffer>): Promise<number> {
    return this.writeAtomically(attachmentId, body);
  }

  async open(attachmentId: string): Promise<{ size: number; stream: Readable } | undefined> {
    const handle = await open(this.pathFor(attachmentId), "r").catch(ifMissing);
    if (!handle) return undefined;
    const { size } = await handle.stat();
    return { size, stream: handle.createReadStream() };
  }

  async read(attachmentId: string, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean } | undefined> {
    const handle = await open(this.pathFor(attachmentId), "r").catch(ifMissing);
    if (!handle) return undefined;
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, maxBytes);
      const bytes = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(bytes, read, length - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { bytes: bytes.subarray(0, read), truncated: size > maxBytes };
    } finally {
      await handle.close();
    }
  }

  removeStale(cutoff: number): Promise<number> {
    return this.removeStaleTempFiles(cutoff);
  }

  async check(): Promise<void> {
    await access(this.dir, constants.W_OK);
  }

  /**
   * Writes `body` to a temporary file in the attachments folder and renames it to the
   * attachment's path once every byte is on disk, so a crash never leaves a half file under an
   * attachment's name. If `body` throws (a limit hit mid-stream), the temporary file is removed
   * and the error rethrown. Returns the number of bytes written.
   */
  async writeAtomically(attachmentId: string, body: AsyncIterable<Buffer>): Promise<number> {
    const finalPath = this.pathFor(attachmentId);
    const tempPath = path.join(this.dir, `${TEMP_PREFIX}${attachmentId}-${randomBytes(6).toString("hex")}`);
    const handle = await open(tempPath, "wx", 0o600);
    let size = 0;
    try {
      try {
        for await (const chunk of body) {
          await handle.write(chunk);
          size += chunk.length;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, finalPath);
      return size;
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
  }

  /** Removes the files of these attachments; missing files are fine. */
  async remove(attachmentIds: string[]): Promise<void> {
    await Promise.all(attachmentIds.map((id) => rm(this.pathFor(id), { force: true })));
  }

  /** Removes temporary files older than `cutoff` (ms): what a crash mid-upload leaves behind. */
  async removeStaleTempFiles(cutoff: number): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) {
        await rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

/** undefined for a missing file; any other error is rethrown. */
function ifMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}
