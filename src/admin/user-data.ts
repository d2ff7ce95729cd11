import { createGzip } from "node:zlib";
import type { Readable } from "node:stream";
import { pack as tarPack, type Pack } from "tar-stream";
import type { AttachmentStorage } from "../attachments/files.ts";
import { toIso } from "../core/clock.ts";
import type { Owner, Store, UserRow } from "../store/index.ts";

const PAGE = 200;

/** Every page of a keyset-paged JSON list, in order. */
async function allPages(page: (after: string | undefined) => Promise<{ rows: string[]; hasMore: boolean }>): Promise<string[]> {
  const rows: string[] = [];
  let after: string | undefined;
  for (;;) {
    const result = await page(after);
    rows.push(...result.rows);
    if (!result.hasMore || result.rows.length === 0) return rows;
    after = (JSON.parse(result.rows.at(-1)!) as { id: string }).id;
  }
}

function addEntry(archive: Pack, name: string, body: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => archive.entry({ name, mtime: new Date() }, body, (error) => (error ? reject(error) : resolve())));
}

function addStream(archive: Pack, name: string, size: number, stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = archive.entry({ name, size, mtime: new Date() }, (error) => (error ? reject(error) : resolve()));
    stream.on("error", reject);
    stream.pipe(entry);
  });
}

/** Keeps a stored name usable as a file name inside the archive. */
const safeName = (name: string) => name.replace(/[/\\\u0000-\u001f]/g, "_").slice(0, 200) || "file";

/**
 * One user's data as a gzipped tar archive, streamed: `user.json` (who they are), one
 * `threads/<id>.json` per thread (its metadata and every item, hidden ones included, in the
 * protocol's shapes), `attachments.json` (every attachment's record) and `files/<id>/<name>`
 * (the bytes of each uploaded file and generated image).
 *
 * @example
 * ctx.body = exportUserArchive(store, files, user); // Content-Type: application/gzip
 */
export function exportUserArchive(store: Store, files: AttachmentStorage, user: UserRow): Readable {
  const archive = tarPack();
  const owner: Owner = { userId: user.id, accountId: user.account_id };
  const fill = async () => {
    await addEntry(archive, "user.json", JSON.stringify({ id: user.id, email: user.email, role: user.role, created_at: toIso(user.created_at), exported_at: toIso(Date.now()) }, null, 2));
    const threads = await allPages((after) => store.threads.listJson(owner, { limit: PAGE, order: "asc", after }));
    for (const threadJson of threads) {
      const thread = JSON.parse(threadJson) as { id: string };
      const items = await allPages((after) => store.items.listJson(owner, thread.id, { limit: PAGE, order: "asc", after, includeHidden: true }));
      await addEntry(archive, `threads/${thread.id}.json`, `{"thread":${threadJson},"items":[${items.join(",")}]}`);
    }
    const attachments = await store.userData.attachmentsOf(user.id);
    await addEntry(archive, "attachments.json", JSON.stringify(attachments, null, 2));
    for (const row of attachments) {
      if (row.status !== "ready") continue;
      const stored = await files.open(row.id);
      if (stored) await addStream(archive, `files/${row.id}/${safeName(row.name)}`, stored.size, stored.stream);
    }
    archive.finalize();
  };
  const gzip = createGzip();
  // A failure midway must end the response (cut, so the client sees an incomplete archive), not leave it hanging.
  fill().catch((error: unknown) => {
    archive.destroy(error as Error);
    gzip.destroy(error as Error);
  });
  return archive.pipe(gzip);
}

/** Deletes the user with everything of theirs (see `UserDataStore.deleteUser`), then their files' bytes. */
export async function deleteUserAndFiles(store: Store, files: AttachmentStorage, userId: string): Promise<boolean> {
  const deleted = await store.userData.deleteUser(userId);
  if (!deleted) return false;
  await files.remove(deleted.attachmentIds);
  return true;
}

/** The archive's file name for a user. */
export const exportFileName = (user: UserRow) => `chatkit-export-${user.email.replace(/[^A-Za-z0-9._-]/g, "_")}-${new Date().toISOString().slice(0, 10)}.tar.gz`;
