import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { tempDataDir } from "./support/app.ts";
import { REPO_ROOT, SERVER_ARGS, startServerProcess } from "./support/process.ts";

const MB = 2 ** 20;

/** What `--max-semi-space-size` in package.json's `start` gives the young generation: two semi-spaces. */
function youngGenerationCap(): number {
  const flag = SERVER_ARGS.find((arg) => arg.startsWith("--max-semi-space-size="));
  assert.ok(flag, `npm start sets --max-semi-space-size (${SERVER_ARGS.join(" ")})`);
  return 2 * Number(flag.split("=")[1]) * MB;
}

test("the server as npm start runs it keeps its young generation within the start-up flag's cap under requests", async () => {
  const cap = youngGenerationCap();
  const dir = tempDataDir();
  const config = path.join(dir, "metrics.config.ts");
  const entry = path.relative(dir, path.join(REPO_ROOT, "src/index.ts")).split(path.sep).join("/");
  writeFileSync(
    config,
    `import { defineConfig } from ${JSON.stringify(entry)};
export default defineConfig({ dataDir: "./data", server: { accessLog: false, metrics: { enabled: true } }, agents: [{ id: "a", name: "A", model: "m" }] });
`,
  );
  const server = await startServerProcess({ CHATKIT_CONFIG: config });
  try {
    for (let i = 0; i < 400; i++) {
      const answer = await fetch(`${server.url}/chatkit?agent_id=a`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "threads.list", params: { limit: 20 } }) });
      assert.equal(answer.status, 401);
      await answer.arrayBuffer();
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const match = /^chatkit_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(metrics);
    assert.ok(match, "the heap space sizes are in /metrics");
    const young = Number(match[1]);
    assert.ok(young > 0 && young <= cap, `the young generation is ${young / MB} MB (cap ${cap / MB} MB)`);
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
});
