import { existsSync } from "node:fs";
import { chmod, rename, rm } from "node:fs/promises";
import path from "node:path";
import { DataDirInUseError, LOCK_FILE, lockDataDir, lockHolder } from "../store/data-dir-lock.ts";
import { backupSqliteDatabase, checkDatabaseFile, DATABASE_FILE, deleteAttachmentRows, openStore, readyAttachmentIds } from "../store/index.ts";
import type { ChatkitConfig } from "../config/schema.ts";
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

On PostgreSQL (database.url set) this command does nothing: see the note it prints.
`;

const restoreHelp = `
Usage: npm run --silent restore -- <src> [--force]

Puts a backup (a folder made by "npm run backup", or a copy of a stopped server's data dir)
into this box's data dir (CHATKIT_DATA_DIR, or dataDir in the config). Stop the server first:
restore refuses while a server holds the data dir's ${LOCK_FILE}, even with --force. It refuses an
interrupted backup, and one in which the file of an uploaded attachment is missing.

  --force   replace the database, attachments and cookie secret of a data dir that is not empty

On PostgreSQL (database.url set) this command does nothing: see the note it prints.
`;

/**
 * With several servers the state is not one folder: the database lives in PostgreSQL and the
 * attachments in the data dir or a bucket. Their own tools copy them consistently; a half-right
 * copy from here would not be.
 */
function elsewhereNote(config: ChatkitConfig, command: "backup" | "restore"): string {
  const database =
    command === "backup"
      ? "  database:    pg_dump --format=custom --file=chatkit.dump \"$CHATKIT_DATABASE_URL\"\n" +
        "               (every table: accounts, users, sessions, login_links, threads, thread_items,\n" +
        "               item_feedback, attachments and kysely's migration tables)"
      : "  database:    pg_restore --clean --if-exists --dbname=\"$CHATKIT_DATABASE_URL\" chatkit.dump\n" +
        "               (stop every server first; a newer server migrates an older dump on start)";
  const files =
    command === "backup"
      ? `  attachments: copy ${path.join(config.dataDir, ATTACHMENTS_DIR)} (or, with S3 storage, the bucket's prefix with\n` +
        "               the provider's tools, e.g. aws s3 sync / rclone / mc mirror), after the dump\n" +
        "               so every attachment row in the dump has its object"
      : "  attachments: copy the saved attachments back to where the config stores them";
  return (
    `${command} works on the SQLite data dir only; this box keeps its database in PostgreSQL (database.url).\n` +
    `${command === "backup" ? "Back it up" : "Restore it"} with PostgreSQL's and your storage's own tools:\n${database}\n${files}\n` +
    "  cookie keys: they are in the config or CHATKIT_COOKIE_KEYS: keep them with the backup, or every user signs in again"
  );
}

export async function backupCommand(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(backupHelp, {}, argv);
  const dest = positionals[0];
  if (!dest) fail(`give the folder to write the backup into\n\n${backupHelp.trim()}`, 2);
  const config = await loadConfigOrFail();
  if (config.database.url) fail(elsewhereNote(config, "backup"));
  const target = path.resolve(dest);
  if (!existsSync(path.join(config.dataDir, DATABASE_FILE))) fail(`no database in ${config.dataDir}: nothing to back up`);
  if (path.resolve(config.dataDir) === target) fail("the backup folder must not be the data dir itself");
  if (!isEmptyDir(target)) fail(`${target} is not empty; choose a new folder`);
  await makePrivateDir(target);

  // Opened once first: it migrates the database, so the copy has this version's schema.
  await (await openStore(config)).close();
  const databaseCopy = path.join(target, DATABASE_FILE);
  const partial = `${databaseCopy}.partial`;
  try {
    const progress = progressReporter("database");
    await backupSqliteDatabase(config.dataDir, partial, (done, total) =>
      progress.update(() => `${Math.floor((done / Math.max(total, 1)) * 100)}% of ${total} pages`),
    );
    await chmod(partial, 0o600);
    progress.done("copied");
  } catch (error) {
    await rm(partial, { force: true });
    fail(`database backup failed: ${(error as Error).message}`);
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
  if (config.database.url) fail(elsewhereNote(config, "restore"));
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
  const store = await openStore({ dataDir });
  const counts = await store.counts();
  await store.close();
  console.error(`restored ${counts.users} users, ${counts.threads} threads, ${counts.items} items, ${counts.attachments} attachments`);
  console.log(dataDir);
}
