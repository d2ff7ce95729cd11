import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
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
  /** Loaded only when needed (the chart code, the official page's client tools), not with the page. */
  lazy: boolean;
}

/** What a chat page loads before the client runs, gzipped: app.js and the files it imports statically. */
export const INITIAL_JS_BUDGET_BYTES = 80 * 1024;

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
    const built = Math.min(...["app.js", "app.css", "client-tools.js", "admin.js", "admin.css"].map((name) => statSync(path.join(outdir, name)).mtimeMs));
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
  // Chunks are named by content: the folder is emptied so old ones do not pile up.
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    // The admin page is an entry of its own: the chat client does not carry it (nor its chart library).
    // client-tools: what the page around the official element imports to answer client tools.
    entryPoints: {
      app: path.join(WEBCLIENT_SOURCE, "main.tsx"),
      admin: path.join(WEBCLIENT_SOURCE, "admin.tsx"),
      "client-tools": path.join(WEBCLIENT_SOURCE, "client-tools.ts"),
    },
    outdir,
    bundle: true,
    minify: true,
    format: "esm",
    // The chart code (uPlot) is its own file, loaded with the first chart; named by content.
    splitting: true,
    entryNames: "[name]",
    chunkNames: "[name]-[hash]",
    target: ["es2022", "chrome111", "firefox113", "safari16.4"],
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: path.join(WEBCLIENT_SOURCE, "tsconfig.json"),
    legalComments: "eof",
    logLevel: "warning",
    metafile: true,
  });
  const outputs = result.metafile.outputs;
  // What app.js pulls in by static imports loads with the page; the rest only when asked for.
  const initial = new Set<string>();
  const visit = (file: string) => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const imported of outputs[file]?.imports ?? []) if (imported.kind === "import-statement") visit(imported.path);
  };
  for (const [file, output] of Object.entries(outputs)) if (output.entryPoint?.endsWith("main.tsx")) visit(file);
  return Object.entries(outputs)
    .filter(([file]) => !file.endsWith(".map"))
    .map(([file, output]) => ({ name: path.basename(file), bytes: output.bytes, lazy: file.endsWith(".js") && !initial.has(file) }));
}

export function gzippedSize(file: BuiltFile, outdir = WEBCLIENT_DIST): number {
  return gzipSync(readFileSync(path.join(outdir, file.name))).length;
}

/** The gzipped JavaScript a chat page loads up front (the budget is INITIAL_JS_BUDGET_BYTES). */
export function initialJsBytes(files: BuiltFile[], outdir = WEBCLIENT_DIST): number {
  return files.filter((file) => file.name.endsWith(".js") && !file.lazy).reduce((sum, file) => sum + gzippedSize(file, outdir), 0);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Lines for the build's log: each file's size, plain and gzipped, and the initial JavaScript against its budget. */
export function describeWebClient(files: BuiltFile[], outdir = WEBCLIENT_DIST): string {
  const sizes = files.map((file) => `${file.name} ${kib(file.bytes)} (${kib(gzippedSize(file, outdir))} gzipped${file.lazy ? ", loaded when needed" : ""})`);
  const initial = initialJsBytes(files, outdir);
  return `built-in web client: ${sizes.join(", ")}; JavaScript loaded with the page: ${kib(initial)} gzipped (budget ${kib(INITIAL_JS_BUDGET_BYTES)})`;
}
