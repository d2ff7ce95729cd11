import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { checkDatabaseFile, DATABASE_FILE, openStore } from "../store/index.ts";
import { fail, loadConfigOrFail, parseCommandArgs } from "./cli.ts";
import { copyAttachments, copyCookieSecret, copyFileAtomically, isEmptyDir, progressReporter, removeDataEntries } from "./data-files.ts";

const backupHelp = `
Usage: npm run --silent backup -- <dest>

Writes a consistent copy of the data dir into <dest> (a new or empty folder) while the server
keeps running: first SQLite's online backup of the database, then the attachment files and the
cookie secret. Progress goes to stderr; the last stdout line is <dest>.

Copying the data folder of a stopped server is a valid backup too.
Put a backup back with: npm run --silent restore -- <dest>
`;

const restoreHelp = `
Usage: npm run --silent restore -- <src> [--force]

Puts a backup (a folder made by "npm run backup", or a copy of a stopped server's data dir)
into this box's data dir (CHATKIT_DATA_DIR, or dataDir in the config). Stop the server first.

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
  await mkdir(target, { recursive: true });

  const store = await openStore(config.dataDir);
  const databaseCopy = path.join(target, DATABASE_FILE);
  try {
    const progress = progressReporter("database");
    await store.backup(`${databaseCopy}.partial`, (done, total) => progress.update(() => `${Math.floor((done / Math.max(total, 1)) * 100)}% of ${total} pages`));
    progress.done("copied");
  } catch (error) {
    await rm(`${databaseCopy}.partial`, { force: true });
    fail(`database backup failed: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
  await rename(`${databaseCopy}.partial`, databaseCopy);
  const verdict = checkDatabaseFile(databaseCopy);
  if (verdict !== "ok") fail(`the database copy failed SQLite's check: ${verdict}`);

  await copyAttachments(config.dataDir, target);
  if (!(await copyCookieSecret(config.dataDir, target)) && config.cookieKeys.length === 0) {
    console.error("note: no cookie-secret file yet; browsers sign in again after a restore");
  }
  console.log(target);
}

export async function restoreCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(restoreHelp, { force: { type: "boolean" } }, argv);
  const src = positionals[0];
  if (!src) fail(`give the backup folder to restore from\n\n${restoreHelp.trim()}`, 2);
  const source = path.resolve(src);
  const config = await loadConfigOrFail();
  const dataDir = path.resolve(config.dataDir);
  if (source === dataDir) fail("the backup folder is the data dir itself");
  const verdict = checkDatabaseFile(path.join(source, DATABASE_FILE));
  if (verdict !== "ok") fail(`${source} does not hold a usable ${DATABASE_FILE}: ${verdict}`);
  if (!isEmptyDir(dataDir)) {
    if (!values.force) fail(`the data dir ${dataDir} is not empty; stop the server and add --force to replace its contents`);
    await removeDataEntries(dataDir);
  }
  await mkdir(dataDir, { recursive: true });
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
