import type { Logger } from "../core/logger.ts";
import type { AttachmentStore } from "../store/index.ts";
import type { AttachmentStorage } from "./files.ts";

const HOUR_MS = 60 * 60 * 1000;

/**
 * Deletes uploads never sent with a message that are older than `ttlHours` (row and file), and
 * temporary files a crash mid-upload left behind. Returns the ids of the deleted attachments.
 */
export async function sweepUnsentAttachments(
  store: AttachmentStore,
  files: AttachmentStorage,
  options: { now: number; ttlHours: number },
): Promise<string[]> {
  const cutoff = options.now - options.ttlHours * HOUR_MS;
  const ids = await store.deleteUnsentBefore(cutoff);
  await files.remove(ids);
  await files.removeStale(cutoff);
  return ids;
}

/**
 * Start-up recovery after a crash or kill mid-upload: uploads left "uploading" become pending
 * again (a retry is accepted instead of 409), and every temporary file is removed (no upload is
 * running yet, and the data dir lock keeps other servers out). Returns what was recovered.
 */
export async function recoverInterruptedUploads(store: AttachmentStore, files: AttachmentStorage): Promise<{ uploads: number; tempFiles: number }> {
  const uploads = await store.releaseInterruptedUploads();
  const tempFiles = await files.removeStale(Number.POSITIVE_INFINITY);
  return { uploads, tempFiles };
}

/**
 * Runs the sweep every hour (or every TTL, when shorter) for as long as the process lives; the
 * timer does not keep the process alive. A TTL of 0 keeps unsent uploads forever.
 */
export function startUnsentAttachmentSweeper(
  store: AttachmentStore,
  files: AttachmentStorage,
  ttlHours: number,
  logger: Logger,
): NodeJS.Timeout | undefined {
  if (ttlHours <= 0) return undefined;
  const timer = setInterval(() => {
    sweepUnsentAttachments(store, files, { now: Date.now(), ttlHours }).then(
      (ids) => ids.length > 0 && logger.info(`removed ${ids.length} attachment(s) never sent with a message`),
      (error: unknown) => logger.error("attachment sweep failed", error),
    );
  }, Math.min(HOUR_MS, ttlHours * HOUR_MS));
  timer.unref();
  return timer;
}
