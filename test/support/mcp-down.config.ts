// A config whose MCP server cannot be reached, for the operator commands' tests.
import { defineConfig } from "../../src/index.ts";

export default defineConfig({
  mcpServers: { gone: { url: "http://127.0.0.1:9/mcp", timeoutMs: 2_000 } },
  agents: [{ id: "assistant", name: "Assistant", model: "gpt-4.1-mini" }],
});
