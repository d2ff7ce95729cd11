// Builds the chat pages' built-in client into src/webclient/dist (run by `npm ci` and `npm start`).
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildWebClient, WEBCLIENT_DIST, webClientIsStale } from "../src/webclient/build.ts";

const ifStale = process.argv.includes("--if-stale");
if (ifStale && !webClientIsStale()) process.exit(0);
try {
  const files = await buildWebClient();
  const sizes = files.map((file) => {
    const gzipped = gzipSync(readFileSync(path.join(WEBCLIENT_DIST, file.name))).length;
    return `${file.name} ${(file.bytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzipped)`;
  });
  console.error(`built-in web client: ${sizes.join(", ")}`);
} catch (error) {
  console.error(`building the built-in web client failed: ${(error as Error).message}`);
  // Before `npm start` an older build still serves (e.g. a read-only install); elsewhere this fails.
  if (!ifStale) process.exit(1);
}
