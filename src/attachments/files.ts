import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

/** Uploads in progress are written under this prefix and renamed into place when complete. */
const TEMP_PREFIX = ".upload-";

/** Attachment bytes on disk: `<data dir>/attachments/<id>`, named by id, never by the user's file name. */
export class AttachmentFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "attachments");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  pathFor(attachmentId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(attachmentId)) throw new Error(`invalid attachment id ${JSON.stringify(attachmentId)}`);
    return path.join(this.dir, attachmentId);
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

  /** Size of the stored file, or undefined when it is missing. */
  async sizeOf(attachmentId: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathFor(attachmentId))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
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
