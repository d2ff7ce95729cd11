// `node scripts/run-built.mjs <entry> [args]` runs dist/<entry>.js (`npm start`: main; each
// operator command under its own name) with no TypeScript loader in the process. When a source is
// newer than the build, or an output is missing, it first runs scripts/build.ts (through tsx, only
// then). With no entry it only brings the build up to date. Plain JavaScript: it must run before
// anything is compiled, and cost next to nothing when nothing is.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = path.join(ROOT, "dist");

/** The build's record (src/build/server.ts), or null when there is none. */
function readRecord() {
  try {
    return JSON.parse(readFileSync(path.join(DIST, "build.json"), "utf8"));
  } catch {
    return null;
  }
}

function modifiedSince(file, time, ignore) {
  if (ignore.has(file)) return false;
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats) return false;
  if (!stats.isDirectory()) return stats.mtimeMs > time;
  return readdirSync(file).some((name) => modifiedSince(path.join(file, name), time, ignore));
}

function isStale(record) {
  if (!record) return true;
  if (record.outputs.some((output) => !existsSync(path.join(ROOT, output)))) return true;
  const ignore = new Set(record.ignore.map((file) => path.join(ROOT, file)));
  return record.watch.some((file) => modifiedSince(path.join(ROOT, file), record.builtAt, ignore));
}

const [entry] = process.argv.splice(2, 1);
const record = readRecord();
if (isStale(record)) {
  // The build's messages go to stderr: a command's stdout stays its answer.
  const build = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) {
    // A build that cannot be written (a read-only install) still leaves the previous one to run.
    if (!entry || !record || !existsSync(path.join(DIST, `${entry}.js`))) process.exit(build.status ?? 1);
    console.error(`running the previous build (${new Date(record.builtAt).toISOString()})`);
  }
}
// Stack traces in the log name src/ files and lines (the build writes linked source maps).
process.setSourceMapsEnabled(true);
if (entry) await import(pathToFileURL(path.join(DIST, `${entry}.js`)).href);
