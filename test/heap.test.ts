import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { SERVER_HEAP } from "../src/core/heap.ts";
import { tempDataDir } from "./support/app.ts";
import { REPO_ROOT, run, startServerProcess } from "./support/process.ts";

const MB = 2 ** 20;

/**
 * A process that keeps a few MB alive across many event-loop turns (what makes V8 grow its young
 * generation) and prints the young generation's largest size; `tuning` is passed to tuneHeap.
 */
async function youngGenerationAfterLoad(tuning: object | null, nodeOptions = ""): Promise<number> {
  const script = path.join(tempDataDir(), "young.mts");
  writeFileSync(
    script,
    `import v8 from "node:v8";
import { tuneHeap } from ${JSON.stringify(path.join(REPO_ROOT, "src/core/heap.ts"))};
const tuning = ${JSON.stringify(tuning)};
if (tuning) tuneHeap(tuning);
const young = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")!.space_size;
let largest = young();
let kept: object[] = [];
for (let turn = 0; turn < 300; turn++) {
  for (let i = 0; i < 5_000; i++) kept.push({ turn, i, text: "x" + i });
  if (kept.length > 60_000) kept = kept.slice(-20_000);
  await new Promise((resolve) => setImmediate(resolve));
  largest = Math.max(largest, young());
}
console.log(largest);
`,
  );
  const result = await run(process.execPath, ["--import", "tsx", script], { env: { NODE_OPTIONS: nodeOptions } });
  assert.equal(result.code, 0, result.stderr);
  return Number(result.stdout.trim());
}

describe("heap sizing (core/heap.ts)", () => {
  // The cap is 16 MB, as the server's: below V8's 32 MB, above what loading this script through tsx may already grow it to.
  test("tuneHeap holds the young generation at its cap, where V8 alone grows it further", async () => {
    const [untuned, tuned] = await Promise.all([youngGenerationAfterLoad(null), youngGenerationAfterLoad({ youngGenerationMb: 16, oldGenerationGrowthPercent: 50 })]);
    assert.ok(untuned > 16 * MB, `without tuning the young generation grew to ${untuned / MB} MB`);
    assert.ok(tuned <= 16 * MB, `tuned, the young generation grew to ${tuned / MB} MB`);
  });

  test("an operator's own --max-semi-space-size wins over the cap", async () => {
    const largest = await youngGenerationAfterLoad({ youngGenerationMb: 4, oldGenerationGrowthPercent: 50 }, "--max-semi-space-size=16");
    assert.ok(largest > 16 * MB, `the young generation grew to ${largest / MB} MB`);
  });

  test("the compiled server is sized before its modules load and stays within the cap under requests", async () => {
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
      assert.ok(young > 0 && young <= SERVER_HEAP.youngGenerationMb * MB, `the young generation is ${young / MB} MB`);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});
