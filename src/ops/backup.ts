import { existsSync } from "node:fs";
import { chmod, rename, rm } from "node:fs/promises";
import path from "node:path";
import { DataDirInUseError, LOCK_FILE, lockDataDir, lockHolder } from "../store/data-dir-lock.ts";
import { checkDatabaseFile, DATABASE_FILE, deleteAttachmentRows, openStore, readyAttachmentIds } from "../store/index.ts";
import { fail, loadConfigOrFail, parseCommandArgs } from "./cli.ts";
import {
  ATTACHMENTS_DIR,
  copyAttachments,
  copyCookieSecret,
  copyFileAtomically,
  isEmptyDir,
  makePrivateDir,
  progressReporter,
  removeDataEntries,
} from "./data-files.ts";

const backupHelp = `
Usage: npm run --silent backup -- <dest>

Writes a consistent copy of the data dir into <dest> (a new or empty folder) while the server
keeps running: first SQLite's online backup of the database (written as ${DATABASE_FILE}.partial),
then the attachment files and the cookie secret; last, the database is renamed to ${DATABASE_FILE},
so a backup without it was interrupted. The folder and its files are private to this user.
Progress goes to stderr; the last stdout line is <dest>.

Copying the data folder of a stopped server is a valid backup too.
Put a backup back with: npm run --silent restore -- <dest>
`;

const restoreHelp = `
Usage: npm run --silent restore -- <src> [--force]

Puts a backup (a folder made by "npm run backup", or a copy of a stopped server's data dir)
into this box's data dir (CHATKIT_DATA_DIR, or dataDir in the config). Stop the server first:
restore refuses while a server holds the data dir's ${LOCK_FILE}, even with --force. It refuses an
interrupted backup, and one in which the file of an uploaded attachment is missing.

  --force   replace the database, attachments and cookie secret of a data dir that is not empty
`;

export async function backupCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(backupHelp, {}, argv);
  const dest = positionals[0];
  if (!dest) fail(`give the folder to write the backup into\n\n${backupHelp.trim()}`, 2);
  const config = await loadConfigOrFail();
  const target = path.resolve(dest);
  if (!existsSync(path.join(config.dataDir, DATABASE_FILE))) fail(`no database in ${config.dataDir}: nothing to back up`);
  if (path.resolve(config.dataDir) === target) fail("the backup folder must not be the data dir itself");
  if (!isEmptyDir(target)) fail(`${target} is not empty; choose a new folder`);
  await makePrivateDir(target);

  const store = await openStore(config.dataDir);
  const databaseCopy = path.join(target, DATABASE_FILE);
  const partial = `${databaseCopy}.partial`;
  try {
    const progress = progressReporter("database");
    await store.backup(partial, (done, total) => progress.update(() => `${Math.floor((done / Math.max(total, 1)) * 100)}% of ${total} pages`));
    await chmod(partial, 0o600);
    progress.done("copied");
  } catch (error) {
    await rm(partial, { force: true });
    fail(`database backup failed: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
  const verdict = checkDatabaseFile(partial);
  if (verdict !== "ok") fail(`the database copy failed SQLite's check: ${verdict}`);

  await copyAttachments(config.dataDir, target);
  // An attachment deleted on the server after the database snapshot has no file to copy: leave it out.
  const gone = missingAttachmentFiles(partial, target);
  if (gone.length > 0) {
    deleteAttachmentRows(partial, gone);
    console.error(`attachments: ${gone.length} deleted on the server while copying, left out of the backup`);
  }
  if (!(await copyCookieSecret(config.dataDir, target)) && config.cookieKeys.length === 0) {
    console.error("note: no cookie-secret file yet; browsers sign in again after a restore");
  }
  // Last: the database in place is what marks the backup complete.
  await rename(partial, databaseCopy);
  console.log(target);
}

/** Uploaded attachments in `databaseFile` whose bytes are not in `dataDir`'s attachments folder. */
function missingAttachmentFiles(databaseFile: string, dataDir: string): string[] {
  return readyAttachmentIds(databaseFile).filter((id) => !existsSync(path.join(dataDir, ATTACHMENTS_DIR, id)));
}

export async function restoreCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(restoreHelp, { force: { type: "boolean" } }, argv);
  const src = positionals[0];
  if (!src) fail(`give the backup folder to restore from\n\n${restoreHelp.trim()}`, 2);
  const source = path.resolve(src);
  const config = await loadConfigOrFail();
  const dataDir = path.resolve(config.dataDir);
  if (source === dataDir) fail("the backup folder is the data dir itself");
  const sourceServer = lockHolder(source);
  if (sourceServer !== undefined) fail(`${source} is the data dir of a running server (pid ${sourceServer}); back it up with: npm run backup -- <dest>`);
  const sourceDatabase = path.join(source, DATABASE_FILE);
  if (!existsSync(sourceDatabase) && existsSync(`${sourceDatabase}.partial`)) {
    fail(`${source} holds an interrupted backup (${DATABASE_FILE}.partial but no ${DATABASE_FILE}); take a new backup`);
  }
  const verdict = checkDatabaseFile(sourceDatabase);
  if (verdict !== "ok") fail(`${source} does not hold a usable ${DATABASE_FILE}: ${verdict}`);
  const missing = missingAttachmentFiles(sourceDatabase, source);
  if (missing.length > 0) {
    fail(`${source} is incomplete: the files of ${missing.length} uploaded attachment(s) are missing from ${ATTACHMENTS_DIR}/ (first: ${missing[0]})`);
  }

  // Held until exit: a server started meanwhile refuses this data dir.
  try {
    lockDataDir(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    fail(`a server (pid ${error.pid}) is using the data dir ${dataDir}: stop the server first (--force does not override this)`);
  }
  if (!isEmptyDir(dataDir, [LOCK_FILE])) {
    if (!values.force) fail(`the data dir ${dataDir} is not empty; stop the server and add --force to replace its contents`);
    await removeDataEntries(dataDir);
  }
  await makePrivateDir(dataDir);
  await copyFileAtomically(path.join(source, DATABASE_FILE), path.join(dataDir, DATABASE_FILE));
  // A copy of a stopped server's folder may still hold its write-ahead log: it belongs to the database.
  const wal = `${DATABASE_FILE}-wal`;
  if (existsSync(path.join(source, wal))) await copyFileAtomically(path.join(source, wal), path.join(dataDir, wal));
  await copyAttachments(source, dataDir);
  await copyCookieSecret(source, dataDir);
  // Opening migrates an older backup to this version's schema and proves the result works.
  const store = await openStore(dataDir);
  const counts = await store.counts();
  await store.close();
  console.error(`restored ${counts.users} users, ${counts.threads} threads, ${counts.items} items, ${counts.attachments} attachments`);
  console.log(dataDir);
}
