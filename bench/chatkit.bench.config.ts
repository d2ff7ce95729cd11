// The config the benchmarks start our server with (CHATKIT_CONFIG): one agent on the fake
// upstream (OPENAI_BASE_URL and OPENAI_API_KEY come from the environment), every other key at its
// default, as a user would run it.
import { defineConfig } from "../src/index.ts";

export default defineConfig({
  agents: [{ id: "assistant", name: "Assistant", model: "bench-model", instructions: "You are a helpful assistant." }],
});
