import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { mintToken, tempDataDir } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";
import { cleanEnv, REPO_ROOT, run, startServerProcess, stopServerProcess, waitForOutput } from "./support/process.ts";
import { parseSse } from "./support/sse.ts";

/** The README's one line for a local model server, as `{ env, command }`. */
function readmeLocalModelLine(): Record<string, string> {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const line = /^ {4}(OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:11434\/v1 .*) npm start$/m.exec(readme);
  assert.ok(line, "the README gives the local-model line");
  return Object.fromEntries(line[1]!.split(" ").map((assignment) => assignment.split("=") as [string, string]));
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a real model in one line", () => {
  let fake: FakeOpenAI;
  let dataDir: string;
  before(async () => {
    fake = await startFakeOpenAI({ echo: true });
    fake.models = ["llama3.2:latest", "qwen2.5:latest"];
    dataDir = tempDataDir();
  });
  after(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the README's local-model line chats over Chat Completions with that model, no key, and the log says it answered", async () => {
    const line = readmeLocalModelLine();
    assert.deepEqual(Object.keys(line).sort(), ["CHATKIT_API", "CHATKIT_MODEL", "OPENAI_BASE_URL"]);
    const token = await mintToken(dataDir, "local@example.com");
    const server = await startServerProcess({ ...line, OPENAI_BASE_URL: fake.baseURL, CHATKIT_DATA_DIR: dataDir });
    try {
      await waitForOutput(server, new RegExp(`agent "assistant": llama3\\.2 via chat_completions at ${fake.baseURL.replace(/\./g, "\\.")}`));
      await waitForOutput(server, /agent "assistant": the upstream \S+ answers, and lists llama3\.2/);
      const response = await fetch(`${server.url}/chatkit?agent_id=assistant`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: "threads.create", params: { input: userInput("Hello, llama") } }),
      });
      assert.equal(response.status, 200);
      const answer = foldEvents(parseSse(await response.text())).items.at(-1);
      assert.equal(answer.type, "assistant_message");
      assert.equal(answer.content[0].text, "Echo: Hello, llama");
      const turn = fake.requests.find((request) => request.path === "/v1/chat/completions")!;
      assert.equal(turn.body.model, "llama3.2");
      assert.equal(turn.headers.authorization, "Bearer no-key", "a local server gets a placeholder key, not a real one");
      assert.ok(fake.modelListings >= 1, "start-up listed the upstream's models");
    } finally {
      await stopServerProcess(server);
    }
  });

  test("the start-up log says when an agent's upstream does not answer, and the server serves anyway", async () => {
    const port = await deadPort();
    const server = await startServerProcess({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, CHATKIT_DATA_DIR: dataDir });
    try {
      await waitForOutput(server, new RegExp(`agent "assistant": the upstream http://127\\.0\\.0\\.1:${port}/v1 does not answer \\(ECONNREFUSED\\); its chats fail until it does`));
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await stopServerProcess(server);
    }
  });

  describe("npm run check asks each upstream and MCP server", () => {
    const check = (env: Record<string, string>) => run("npm", ["run", "--silent", "check"], { env: cleanEnv({ CHATKIT_DATA_DIR: dataDir, ...env }) });

    test("a live upstream with the model passes", async () => {
      const live = await check({ OPENAI_BASE_URL: fake.baseURL, CHATKIT_MODEL: "qwen2.5", CHATKIT_API: "chat_completions" });
      assert.equal(live.code, 0, live.stderr);
      assert.match(live.stdout, /agent assistant: the upstream \S+ answers, and lists qwen2\.5\n/);
      assert.match(live.stdout, /\nok\n$/);
    });

    test("a dead upstream fails with one clear line", async () => {
      const port = await deadPort();
      const dead = await check({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` });
      assert.equal(dead.code, 1);
      assert.match(dead.stderr, new RegExp(`^problem: agent assistant: the upstream http://127\\.0\\.0\\.1:${port}/v1 does not answer \\(ECONNREFUSED\\); its chats fail until it does$`, "m"));
      assert.doesNotMatch(dead.stdout, /^ok$/m);
    });

    test("an upstream without the model fails, naming the models it has; one without a model list is asked for a completion", async () => {
      fake.queue.push({ status: 404 });
      const missing = await check({ OPENAI_BASE_URL: fake.baseURL, CHATKIT_MODEL: "mistral", CHATKIT_API: "chat_completions" });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /problem: agent assistant: the upstream \S+ answers, but not with the model mistral \(answers 404: scripted failure 404\); it lists llama3\.2:latest, qwen2\.5:latest/);

      fake.models = null;
      try {
        const before = fake.requests.length;
        const unlisted = await check({ OPENAI_BASE_URL: fake.baseURL, CHATKIT_MODEL: "mistral", CHATKIT_API: "chat_completions" });
        assert.equal(unlisted.code, 0, unlisted.stderr);
        assert.match(unlisted.stdout, /the upstream \S+ answers a completion with mistral\n/);
        const completion = fake.requests.slice(before).find((request) => request.path === "/v1/chat/completions");
        assert.equal(completion?.body.max_tokens, 1, "the smallest completion");
      } finally {
        fake.models = ["llama3.2:latest", "qwen2.5:latest"];
      }
    });

    test("an MCP server that does not answer fails it", async () => {
      const down = await check({ CHATKIT_CONFIG: path.join(REPO_ROOT, "test/support/mcp-down.config.ts") });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /^problem: agent assistant: MCP server "gone" does not answer \(.+\); its tools are left out until it does$/m);
    });
  });
});
