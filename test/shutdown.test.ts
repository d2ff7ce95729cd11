import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { tempDataDir } from "./support/app.ts";
import { userInput } from "./support/client.ts";
import { startFakeOpenAI } from "./support/fake-openai.ts";
import { cleanEnv, REPO_ROOT, run } from "./support/process.ts";
import { readSse, type ParsedEvent } from "./support/sse.ts";

test("SIGTERM to `npm start` lets an in-flight stream finish, then closes the database and exits 0", async () => {
  const fake = await startFakeOpenAI({ chunks: ["one ", "two ", "three ", "four"], delayMs: 150 });
  const dataDir = tempDataDir();
  // Signal npm itself, as a supervisor that knows only the main pid does.
  const child = spawn("npm", ["start"], {
    cwd: REPO_ROOT,
    env: cleanEnv({ CHATKIT_DATA_DIR: dataDir, PORT: "0", OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: "sk-test" }) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
      child.stdout.on("data", () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const session = await run("npm", ["run", "--silent", "session", "--", "shutdown@example.com"], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir }) });
    const token = session.stdout.trim().split("\n").at(-1)!;

    const response = await fetch(`${url}/chatkit?agent_id=assistant`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: "threads.create", params: { input: userInput("count") } }),
    });
    const events: ParsedEvent[] = [];
    for await (const event of readSse(response)) {
      events.push(event);
      if (event.update?.delta === "one ") child.kill("SIGTERM");
    }
    assert.equal(events.at(-1)!.type, "thread.item.done");
    assert.equal(events.at(-1)!.item.content[0].text, "one two three four");
    assert.equal(await exited, 0);
    for (let i = 0; i < 50 && (await fetch(`${url}/healthz`).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /SIGTERM: finishing in-flight requests/);
    assert.match(output, /stopped/);
    await assert.rejects(fetch(`${url}/healthz`), "no longer accepting connections");
  } finally {
    child.kill("SIGKILL");
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
