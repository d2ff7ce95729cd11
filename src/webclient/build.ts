import { readdirSync, readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { WEBCLIENT_DIST } from "./assets.ts";

export { WEBCLIENT_DIST };

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The client's source (browser code, its own tsconfig). */
export const WEBCLIENT_SOURCE = path.join(HERE, "app");

export interface BuiltFile {
  name: string;
  bytes: number;
}

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when the bundle is missing or older than any source file. */
export function webClientIsStale(outdir = WEBCLIENT_DIST): boolean {
  try {
    const built = Math.min(...["app.js", "app.css", "admin.js", "admin.css"].map((name) => statSync(path.join(outdir, name)).mtimeMs));
    return built < newestSourceMtime(WEBCLIENT_SOURCE);
  } catch {
    return true;
  }
}

/**
 * Bundles the built-in client (Preact, marked, DOMPurify and our code) into one minified ES
 * module and one stylesheet: everything the chat page needs, served from our own origin; and the
 * admin page (Preact, uPlot) the same way, as `admin.js` and `admin.css`.
 */
export async function buildWebClient(outdir = WEBCLIENT_DIST): Promise<BuiltFile[]> {
  const result = await build({
    // The admin page is an entry of its own: the chat client does not carry it (nor its chart library).
    entryPoints: { app: path.join(WEBCLIENT_SOURCE, "main.tsx"), admin: path.join(WEBCLIENT_SOURCE, "admin.tsx") },
    outdir,
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome111", "firefox113", "safari16.4"],
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: path.join(WEBCLIENT_SOURCE, "tsconfig.json"),
    legalComments: "eof",
    logLevel: "warning",
    metafile: true,
  });
  return Object.entries(result.metafile.outputs).map(([file, output]) => ({ name: path.basename(file), bytes: output.bytes }));
}

/** One line for the build's log: each file's size, plain and gzipped. */
export function describeWebClient(files: BuiltFile[], outdir = WEBCLIENT_DIST): string {
  const sizes = files.map((file) => {
    const gzipped = gzipSync(readFileSync(path.join(outdir, file.name))).length;
    return `${file.name} ${(file.bytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzipped)`;
  });
  return `built-in web client: ${sizes.join(", ")}`;
}
