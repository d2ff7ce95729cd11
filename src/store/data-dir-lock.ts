import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Holds the pid of the process that owns the data dir: the server, or a restore in progress. */
export const LOCK_FILE = "server.lock";

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data dir ${dataDir} is in use by process ${pid} (a running server); if no server runs there, delete ${path.join(dataDir, LOCK_FILE)}`);
  }
}

/** Whether `pid` names another live process (EPERM: it exists but belongs to another user). */
function isOtherLiveProcess(pid: number): boolean {
  // Our own pid in the file is stale: a container restarted with the same pid, say.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of the live process holding the data dir's lock; undefined when unlocked or the lock is stale. */
export function lockHolder(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, LOCK_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  return isOtherLiveProcess(pid) ? pid : undefined;
}

/**
 * Takes the data dir's lock for this process (creating the dir, private, if needed), taking over
 * a stale one left by a process that died; throws DataDirInUseError while a live process holds it.
 * Returns the release function, which also runs when the process exits.
 * Two processes taking over the same stale lock at the same instant are not told apart.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, LOCK_FILE);
  const create = () => writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
  try {
    create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = lockHolder(dataDir);
    if (holder !== undefined) throw new DataDirInUseError(dataDir, holder);
    rmSync(file, { force: true });
    try {
      create();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== "EEXIST") throw again;
      throw new DataDirInUseError(dataDir, lockHolder(dataDir) ?? Number.NaN);
    }
  }
  const release = () => {
    process.off("exit", release);
    try {
      if (Number.parseInt(readFileSync(file, "utf8"), 10) === process.pid) rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
  process.on("exit", release);
  return release;
}
