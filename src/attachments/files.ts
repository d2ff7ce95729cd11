import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";

/** Attachment bytes on disk: `<data dir>/attachments/<id>`, named by id, never by the user's file name. */
export class AttachmentFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "attachments");
    mkdirSync(this.dir, { recursive: true });
  }

  pathFor(attachmentId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(attachmentId)) throw new Error(`invalid attachment id ${JSON.stringify(attachmentId)}`);
    return path.join(this.dir, attachmentId);
  }

  /** Removes the files of these attachments; missing files are fine. */
  async remove(attachmentIds: string[]): Promise<void> {
    await Promise.all(attachmentIds.map((id) => rm(this.pathFor(id), { force: true })));
  }
}
