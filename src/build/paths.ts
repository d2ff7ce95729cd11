import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root folder: what `dist/` and the sources are found relative to. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The package entry a config imports (`defineConfig`, `defineTool`, …), as source. */
export const PACKAGE_ENTRY_SOURCE = path.join(PACKAGE_ROOT, "src", "index.ts");
/** The compiled server and operator commands (git-ignored; made by `npm ci`, `npm start` and `npm run <command>`). */
export const SERVER_DIST = path.join(PACKAGE_ROOT, "dist");
