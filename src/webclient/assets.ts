import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where the build writes `app.js` and `app.css` (git-ignored; made by `npm ci` and `npm start`). */
export const WEBCLIENT_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist");

export const WEBCLIENT_PATH_PREFIX = "/webclient/";

export interface WebClientAsset {
  /** Served at this path; the name carries a content hash, so it may be cached for good. */
  path: string;
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

export interface WebClientAssets {
  script: WebClientAsset;
  style: WebClientAsset;
  /** The admin page's bundle (`/admin`). */
  admin: { script: WebClientAsset; style: WebClientAsset };
  /** `runClientTool` for the page around the official element (its `onClientTool`). */
  clientTools: WebClientAsset;
  byPath: Map<string, WebClientAsset>;
}

const JS_TYPE = "text/javascript; charset=utf-8";

/** An entry file (`app.js`), served as `app.<hash>.js`. */
function asset(dir: string, name: string, type: string): WebClientAsset {
  const body = readFileSync(path.join(dir, name));
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  const extension = path.extname(name);
  return { path: `${WEBCLIENT_PATH_PREFIX}${path.basename(name, extension)}.${hash}${extension}`, type, body, gzipped: gzipSync(body, { level: 9 }) };
}

const ENTRY_FILES = new Set(["app.js", "admin.js", "client-tools.js"]);

/** The chunks app.js imports (`./chart-HASH.js`): served beside it under the name the build gave (a content hash). */
function chunks(dir: string): WebClientAsset[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".js") && !ENTRY_FILES.has(name))
    .map((name) => {
      const body = readFileSync(path.join(dir, name));
      return { path: `${WEBCLIENT_PATH_PREFIX}${name}`, type: JS_TYPE, body, gzipped: gzipSync(body, { level: 9 }) };
    });
}

/**
 * The built client (`npm ci` / `npm start` build it), read once. Undefined while it has not been
 * built; asked again on the next request, so a build while the server runs is picked up.
 */
export function webClientAssetLoader(dir = WEBCLIENT_DIST): () => WebClientAssets | undefined {
  let loaded: WebClientAssets | undefined;
  return () => {
    if (loaded) return loaded;
    try {
      const script = asset(dir, "app.js", JS_TYPE);
      const style = asset(dir, "app.css", "text/css; charset=utf-8");
      const clientTools = asset(dir, "client-tools.js", JS_TYPE);
      const admin = { script: asset(dir, "admin.js", JS_TYPE), style: asset(dir, "admin.css", "text/css; charset=utf-8") };
      loaded = { script, style, admin, clientTools, byPath: new Map([script, style, clientTools, admin.script, admin.style, ...chunks(dir)].map((a) => [a.path, a])) };
    } catch {
      return undefined;
    }
    return loaded;
  };
}
