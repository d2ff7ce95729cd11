/**
 * Runs the tests' fake OpenAI-compatible upstream on its own, to try the server against a
 * "model" without a key:  node --import tsx test/support/fake-openai-server.ts [port] &
 * then start the server with OPENAI_BASE_URL=<printed base URL>. It is one node process (npx
 * would start a child that outlives a kill of its own pid), so `kill %1` stops it.
 */
import { startFakeOpenAI } from "./fake-openai.ts";

const port = Number(process.argv[2] ?? 0);
const fake = await startFakeOpenAI({ echo: true, delayMs: 40 }, port);
console.log(`fake OpenAI-compatible upstream (echoes the last user message) at ${fake.baseURL}`);
process.on("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
