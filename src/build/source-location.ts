import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Loader, Plugin } from "esbuild";

const IMPORT_META_LOCATION = /\bimport\.meta\.(url|dirname|filename)\b/g;
const LOADERS: Record<string, Loader> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx" };
// Appended: imports are hoisted, and the module keeps its line numbers.
const HELPERS = `\nimport { fileURLToPath as __sourceFileURLToPath } from "node:url"; import { dirname as __sourceDirname } from "node:path";\n`;

/**
 * Keeps `import.meta.url` (and `.dirname`, `.filename`) pointing at each module's own source file
 * once modules are bundled together, so files found beside the sources (the locales, the built web
 * client, a config's own folder) are found the same way from the bundle. `urlOf` returns a
 * JavaScript expression for a source file's URL, evaluated inside the bundle. The replacement is
 * textual: a string spelling out `import.meta.url` in a bundled module would be rewritten too.
 */
export function sourceLocationPlugin(urlOf: (file: string) => string): Plugin {
  return {
    name: "source-location",
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const loader = LOADERS[path.extname(args.path)];
        if (!loader || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        let needsHelpers = false;
        const contents = source.replace(IMPORT_META_LOCATION, (_, property: string) => {
          const url = `(${urlOf(args.path)})`;
          if (property === "url") return url;
          needsHelpers = true;
          return property === "filename" ? `__sourceFileURLToPath(${url})` : `__sourceDirname(__sourceFileURLToPath(${url}))`;
        });
        if (contents === source) return undefined;
        return { contents: needsHelpers ? contents + HELPERS : contents, loader, resolveDir: path.dirname(args.path) };
      });
    },
  };
}
