// Builds what `npm start` and the operator commands run: the built-in web client when its sources
// changed, then the server and the commands into dist/ (`npm run build`; `npm ci` runs it, and
// scripts/run-built.mjs runs it when a source is newer than the build).
import path from "node:path";
import { formatMessages } from "esbuild";
import { SERVER_DIST } from "../src/build/paths.ts";
import { buildServer } from "../src/build/server.ts";
import { buildWebClient, describeWebClient, WEBCLIENT_DIST, webClientIsStale } from "../src/webclient/build.ts";

try {
  if (webClientIsStale()) console.error(describeWebClient(await buildWebClient()));
  const started = performance.now();
  const { files, bytes } = await buildServer({
    alsoRequired: ["app.js", "app.css"].map((name) => path.join(WEBCLIENT_DIST, name)),
    ignore: [WEBCLIENT_DIST],
  });
  console.error(`server and commands: ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB in ${path.relative(process.cwd(), SERVER_DIST) || SERVER_DIST}/ (${(performance.now() - started).toFixed(0)} ms)`);
} catch (error) {
  const errors = (error as { errors?: Parameters<typeof formatMessages>[0] }).errors;
  const text = errors?.length ? (await formatMessages(errors, { kind: "error", color: false })).join("") : (error as Error).message;
  console.error(`build failed:\n${text.trimEnd()}`);
  process.exit(1);
}
