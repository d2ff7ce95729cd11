import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { PACKAGE_ROOT, SERVER_DIST } from "./paths.ts";
import { sourceLocationPlugin } from "./source-location.ts";

/** Written last by a build; scripts/run-built.mjs reads it to tell whether the build is current. */
export const BUILD_RECORD = path.join(SERVER_DIST, "build.json");
/** The operator commands, `scripts/<name>.ts`, each run as `npm run <name>`. */
export const COMMANDS = ["session", "login-link", "users", "sessions", "agents", "check", "backup", "restore", "usage", "quotas"] as const;

/** What scripts/run-built.mjs checks: paths relative to the package root. */
export interface BuildRecord {
  /** When the build started (ms since the epoch): a watched file modified later makes the build stale. */
  builtAt: number;
  /** Files and folders whose files the build was made from. */
  watch: string[];
  /** Inside `watch`, but written by builds (the web client's bundle). */
  ignore: string[];
  /** Every file that must exist for the build to run. */
  outputs: string[];
}

const WATCH = ["src", "scripts", "package.json", "package-lock.json", "tsconfig.json"];
const relative = (file: string) => path.relative(PACKAGE_ROOT, file).split(path.sep).join("/");

/**
 * Bundles the server (`dist/main.js`), the package entry a config imports (`dist/index.js`) and
 * every operator command (`dist/<name>.js`) as ES modules that share chunks, so a process holds one
 * instance of each of our modules however it was started; packages stay in node_modules. Files are
 * replaced atomically, chunks (named by content hash) before the entries that import them, and the
 * previous build's leftovers removed last: a process starting during a build loads the old or the
 * new one.
 */
export async function buildServer(options: { alsoRequired?: string[]; ignore?: string[] } = {}): Promise<{ files: string[]; bytes: number }> {
  const builtAt = Date.now();
  const entryPoints: Record<string, string> = { main: "src/main.ts", index: "src/index.ts" };
  for (const name of COMMANDS) entryPoints[name] = `scripts/${name}.ts`;
  const isEntry = (file: string) => path.basename(file, ".js") in entryPoints;
  const result = await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints,
    outdir: SERVER_DIST,
    chunkNames: "[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Lets the config loader know it runs compiled, and where the package entry it runs is.
    define: { CHATKIT_BUILT_ENTRY: JSON.stringify(`${relative(SERVER_DIST)}/index.js`) },
    // Every output sits in dist/: a source's URL is that relative path from any of them.
    plugins: [sourceLocationPlugin((file) => `new URL(${JSON.stringify(path.relative(SERVER_DIST, file).split(path.sep).join("/"))}, import.meta.url).href`)],
    write: false,
    sourcemap: "linked",
    logLevel: "silent",
  });
  mkdirSync(SERVER_DIST, { recursive: true });
  const written = new Set<string>();
  let bytes = 0;
  const chunksFirst = [...result.outputFiles].sort((a, b) => Number(isEntry(a.path)) - Number(isEntry(b.path)));
  for (const file of chunksFirst) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
    written.add(path.basename(file.path));
    bytes += file.contents.byteLength;
  }
  for (const name of readdirSync(SERVER_DIST)) {
    if (!written.has(name) && name !== path.basename(BUILD_RECORD) && !name.endsWith(".tmp")) rmSync(path.join(SERVER_DIST, name), { force: true, recursive: true });
  }
  const outputs = [...written].map((name) => relative(path.join(SERVER_DIST, name)));
  const record: BuildRecord = {
    builtAt,
    watch: WATCH,
    ignore: (options.ignore ?? []).map(relative),
    outputs: [...outputs, ...(options.alsoRequired ?? []).map(relative)],
  };
  const temporary = `${BUILD_RECORD}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, BUILD_RECORD);
  return { files: outputs, bytes };
}
