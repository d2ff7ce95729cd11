// Builds the chat pages' built-in client into src/webclient/dist (`npm run build:webclient`;
// `npm ci`, `npm start` and the tests build it through scripts/build.ts).
import { buildWebClient, describeWebClient, webClientIsStale } from "../src/webclient/build.ts";

const ifStale = process.argv.includes("--if-stale");
if (ifStale && !webClientIsStale()) process.exit(0);
try {
  console.error(describeWebClient(await buildWebClient()));
} catch (error) {
  console.error(`building the built-in web client failed: ${(error as Error).message}`);
  // Before `npm start` an older build still serves (e.g. a read-only install); elsewhere this fails.
  if (!ifStale) process.exit(1);
}
