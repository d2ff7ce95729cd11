/**
 * Runs the tests' fake OpenAI-compatible upstream on its own, to try the server against a
 * "model" without a key:  node --import tsx test/support/fake-openai-server.ts [port [model ...]] &
 * then start the server with OPENAI_BASE_URL=<printed base URL>. It is one node process (npx
 * would start a child that outlives a kill of its own pid), so `kill %1` stops it.
 */
import { startFakeOpenAI } from "./fake-openai.ts";

const port = Number(process.argv[2] ?? 0);
const fake = await startFakeOpenAI({ echo: true, delayMs: 40 }, port);
// More model names to list, after the port: `... fake-openai-server.ts 9911 llama3.2`.
fake.models = ["gpt-4.1-mini", ...process.argv.slice(3)];
console.log(`fake OpenAI-compatible upstream (echoes the last user message; models ${fake.models.join(", ")}) at ${fake.baseURL}`);
process.on("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
