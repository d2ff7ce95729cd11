/**
 * The tests' fake OpenAI-compatible upstream in a process of its own, so the model's side of a
 * streamed turn costs neither the server under test nor the load generator. The driver sets how
 * it answers over IPC: `{ script }` (answered `{ ok: true }`). Prints its base URL when ready.
 */
import { startFakeOpenAI, type Script } from "../../test/support/fake-openai.ts";

const fake = await startFakeOpenAI({ echo: true });
process.on("message", (message: { script?: Script }) => {
  if (message.script) {
    fake.fallback = message.script;
    // Only the answers matter here; what was asked is not kept across runs.
    fake.requests.length = 0;
    process.send?.({ ok: true });
  }
});
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
console.log(`listening on ${fake.baseURL}`);
