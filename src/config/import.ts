import { isBuiltin } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Message, Plugin } from "esbuild";
import { PACKAGE_ENTRY_SOURCE, PACKAGE_ROOT } from "../build/paths.ts";
import { sourceLocationPlugin } from "../build/source-location.ts";

/**
 * Defined by the build (src/build/server.ts) as the compiled package entry, relative to the package
 * root; undeclared when this code runs from source through tsx.
 */
declare const CHATKIT_BUILT_ENTRY: string | undefined;

const PACKAGE_SOURCES = path.dirname(PACKAGE_ENTRY_SOURCE);

/** A config file that could not be compiled: one line per problem, naming the file and line. */
export class ConfigCompileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/**
 * Imports a config file (TypeScript, importing our package). From source, tsx's loader is in
 * the process and Node imports the file as it is. The compiled server has no TypeScript loader:
 * it bundles the file with esbuild into a temporary module whose import of our package entry is
 * the very `dist/index.js` the server runs, so `defineTool`, `ChatkitError` and zod are the
 * server's own objects. Packages stay where Node finds them.
 */
export async function importConfigFile(file: string): Promise<{ default?: unknown }> {
  if (typeof CHATKIT_BUILT_ENTRY !== "string") return import(pathToFileURL(file).href);
  const code = await bundleConfig(file, path.join(PACKAGE_ROOT, CHATKIT_BUILT_ENTRY));
  // Every import left in the bundle is absolute (a file URL or a Node built-in): any folder will do.
  const dir = mkdtempSync(path.join(os.tmpdir(), "chatkit-config-"));
  const bundled = path.join(dir, `${path.basename(file)}.mjs`);
  try {
    writeFileSync(bundled, code);
    return await import(pathToFileURL(bundled).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The config and its own files as one ES module; our package entry maps to `builtEntry`. */
export async function bundleConfig(file: string, builtEntry: string): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      // Resolve packages as Node's ES module loader does: no "module" condition, `main` only.
      conditions: [],
      mainFields: ["main"],
      logLevel: "silent",
      plugins: [sourceLocationPlugin((source) => JSON.stringify(pathToFileURL(source).href)), packageBoundaryPlugin(builtEntry)],
    });
    return result.outputFiles[0]!.text;
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors?.length) throw error;
    throw new ConfigCompileError(errors.map(describeMessage));
  } finally {
    // esbuild answers from a child process; a server does not need it kept running.
    await esbuild.stop();
  }
}

function describeMessage(message: Message): string {
  // esbuild names files relative to the working directory and counts columns from 0.
  const where = message.location ? `${path.resolve(message.location.file)}:${message.location.line}:${message.location.column + 1}: ` : "";
  return `could not compile: ${where}${message.text}`;
}

/**
 * Bundles only the config's own files. Our package entry becomes the compiled one; a package in
 * node_modules becomes an import of the file Node would load (the same module instance the server
 * has); a deep import of our sources is refused, as it would be a second copy of them.
 */
function packageBoundaryPlugin(builtEntry: string): Plugin {
  const resolving = Symbol("resolving");
  return {
    name: "package-boundary",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === resolving) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: resolving });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external) return { path: resolved.path, external: true };
        if (resolved.path === PACKAGE_ENTRY_SOURCE) return { path: pathToFileURL(builtEntry).href, external: true };
        if (resolved.path.startsWith(PACKAGE_SOURCES + path.sep)) {
          const entry = path.relative(args.resolveDir, PACKAGE_ENTRY_SOURCE).split(path.sep).join("/");
          return { errors: [{ text: `import our package from its entry ("${entry.startsWith(".") ? entry : `./${entry}`}"), not "${args.path}"` }] };
        }
        if (resolved.path.split(path.sep).includes("node_modules")) return { path: pathToFileURL(resolved.path).href, external: true };
        return { path: resolved.path };
      });
    },
  };
}
