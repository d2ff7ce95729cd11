import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
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
  byPath: Map<string, WebClientAsset>;
}

function asset(dir: string, name: string, extension: string, type: string): WebClientAsset {
  const body = readFileSync(path.join(dir, name));
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { path: `${WEBCLIENT_PATH_PREFIX}${path.basename(name, `.${extension}`)}.${hash}.${extension}`, type, body, gzipped: gzipSync(body, { level: 9 }) };
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
      const script = asset(dir, "app.js", "js", "text/javascript; charset=utf-8");
      const style = asset(dir, "app.css", "css", "text/css; charset=utf-8");
      const admin = { script: asset(dir, "admin.js", "js", "text/javascript; charset=utf-8"), style: asset(dir, "admin.css", "css", "text/css; charset=utf-8") };
      loaded = { script, style, admin, byPath: new Map([script, style, admin.script, admin.style].map((a) => [a.path, a])) };
    } catch {
      return undefined;
    }
    return loaded;
  };
}
