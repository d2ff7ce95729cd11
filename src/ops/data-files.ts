import { chmod, copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { COOKIE_SECRET_FILE } from "../config/secrets.ts";
import { DATABASE_FILE } from "../store/index.ts";

export const ATTACHMENTS_DIR = "attachments";
/** Everything a data dir holds that belongs to the box (the database's WAL side files included). */
export const DATA_ENTRIES = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-journal`, ATTACHMENTS_DIR, COOKIE_SECRET_FILE];

/**
 * Whether a folder is missing or holds nothing but a placeholder like `.gitkeep` (and the data
 * dir's lock, which a caller that holds it, or has found stale, passes as `alsoIgnore`).
 */
export function isEmptyDir(dir: string, alsoIgnore: string[] = []): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).every((name) => name === ".gitkeep" || alsoIgnore.includes(name));
}

/** A folder only its owner can enter: backups and data dirs hold the database and secrets. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Copies a file readable by its owner only, whatever the source's mode. */
async function copyPrivateFile(source: string, target: string): Promise<void> {
  await copyFile(source, target);
  await chmod(target, 0o600);
}

/**
 * Progress on stderr at most once a second, so small folders stay quiet and big ones show
 * they are moving; `done` prints the final line.
 */
export function progressReporter(label: string, intervalMs = 1000) {
  let last = Date.now();
  return {
    update(text: () => string): void {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      console.error(`${label}: ${text()}`);
    },
    done(text: string): void {
      console.error(`${label}: ${text}`);
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/**
 * Copies the attachment files from one data dir to another, with progress. A file deleted while
 * the copy runs (its attachment deleted on the live server) is skipped: the database snapshot
 * taken before either still names it, so it is reported, not fatal.
 */
export async function copyAttachments(fromDataDir: string, toDataDir: string): Promise<{ files: number; bytes: number; vanished: string[] }> {
  const from = path.join(fromDataDir, ATTACHMENTS_DIR);
  const to = path.join(toDataDir, ATTACHMENTS_DIR);
  const files = await listFiles(from);
  await makePrivateDir(to);
  const progress = progressReporter("attachments");
  let bytes = 0;
  let copied = 0;
  const vanished: string[] = [];
  for (const relative of files) {
    const target = path.join(to, relative);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    try {
      await copyPrivateFile(path.join(from, relative), target);
      bytes += (await stat(target)).size;
      copied += 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      vanished.push(relative);
    }
    progress.update(() => `${copied}/${files.length} files, ${megabytes(bytes)}`);
  }
  progress.done(`${copied} files, ${megabytes(bytes)}${vanished.length ? ` (${vanished.length} deleted while copying)` : ""}`);
  return { files: copied, bytes, vanished };
}

/** Copies the cookie-signing secret if the data dir has one (sessions survive a restore with it). */
export async function copyCookieSecret(fromDataDir: string, toDataDir: string): Promise<boolean> {
  const source = path.join(fromDataDir, COOKIE_SECRET_FILE);
  if (!existsSync(source)) return false;
  await copyPrivateFile(source, path.join(toDataDir, COOKIE_SECRET_FILE));
  return true;
}

/** Copies a file next to its destination first, then renames, so a crash never leaves half a database. */
export async function copyFileAtomically(source: string, target: string): Promise<void> {
  const partial = `${target}.partial`;
  await copyPrivateFile(source, partial);
  await rename(partial, target);
}

/** Removes the box's own files from a data dir, leaving anything else alone. */
export async function removeDataEntries(dataDir: string): Promise<void> {
  await Promise.all(DATA_ENTRIES.map((name) => rm(path.join(dataDir, name), { recursive: true, force: true })));
}
