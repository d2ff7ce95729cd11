import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadConfig } from "../src/config/load.ts";
import type { ChatkitConfigInput } from "../src/config/schema.ts";
import { startTestServer, tempDataDir, type TestServer } from "./support/app.ts";
import { foldEvents, userInput } from "./support/client.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./support/fake-openai.ts";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The README's "Agents as code" config, as a file beside a temporary data dir: its imports of
 * `./src/index.ts` and `@openai/agents` point at this checkout's, so it loads as it would at
 * the repo root.
 */
function readmeConfigFile(): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!).find((code) => code.startsWith("// agents.config.ts"));
  assert.ok(block, "the README shows agents.config.ts");
  const code = block
    .replace('"./src/index.ts"', JSON.stringify(pathToFileURL(path.join(REPO_ROOT, "src/index.ts")).href))
    .replace('"@openai/agents"', JSON.stringify(import.meta.resolve("@openai/agents")));
  const file = path.join(tempDataDir(), "agents.config.ts");
  writeFileSync(file, code);
  return file;
}

describe("the README's agents as code", () => {
  let fake: FakeOpenAI;
  let server: TestServer;

  before(async () => {
    fake = await startFakeOpenAI({ echo: true });
    const file = readmeConfigFile();
    // Loaded as `npm start` loads it, with the fake as the upstream.
    const loaded = await loadConfig({ CHATKIT_CONFIG: file, OPENAI_BASE_URL: fake.baseURL }, "/");
    assert.deepEqual(loaded.agents.map((agent) => agent.id), ["notes", "triage"]);
    const { default: config } = (await import(pathToFileURL(file).href)) as { default: ChatkitConfigInput };
    server = await startTestServer({ config: { agents: config.agents, openai: { baseURL: fake.baseURL, maxRetries: 0 } } });
  });
  after(async () => {
    await server.close({ removeData: true });
    await fake.close();
  });

  test("the respond agent answers with a task and its text, without any upstream", async () => {
    const { events } = await server.stream("threads.create", { input: userInput("three small words") }, { agentId: "notes" });
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    assert.deepEqual(state.items.map((item) => item.type), ["user_message", "workflow", "assistant_message"]);
    assert.deepEqual(state.items[1].workflow.tasks, [{ type: "custom", title: "Counting words…", status_indicator: "complete", content: "3 words" }]);
    assert.equal(state.items[2].content[0].text, "You wrote 3 words; this thread has 1 messages.");
    assert.equal(fake.requests.length, 0);
  });

  test("the Agents SDK agent hands off to Weather, whose tool shows a card", async () => {
    fake.queue.push(
      { toolCalls: [{ name: "transfer_to_Weather", arguments: {} }] },
      { toolCalls: [{ name: "show_forecast", arguments: { city: "Rome" } }] },
      { text: "Sunny in Rome." },
    );
    const { events } = await server.stream("threads.create", { input: userInput("Weather in Rome?") }, { agentId: "triage" });
    const state = foldEvents(events);
    assert.deepEqual(state.errors, []);
    const tasks = state.items.filter((item) => item.type === "workflow").flatMap((item) => item.workflow.tasks.map((task: any) => task.title));
    assert.deepEqual(tasks, ["Handed off to Weather", "Running show_forecast"]);
    const card = state.items.find((item) => item.type === "widget");
    assert.equal(card.copy_text, "Rome: sunny, 24 °C");
    assert.equal(state.items.at(-1).content[0].text, "Sunny in Rome.");
    assert.match(fake.requests[1]!.body.instructions, /You answer questions about the weather/);

    // With the echoing fake as the model, the next turn answers from Weather, which saw the card's tool work.
    const next = await server.stream("threads.add_user_message", { thread_id: state.thread.id, input: userInput("And tomorrow?") }, { agentId: "triage" });
    assert.equal(foldEvents(next.events).items.at(-1).content[0].text, "Echo: And tomorrow?");
    const replayed = JSON.stringify(fake.requests.at(-1)!.body.input);
    assert.match(replayed, /show_forecast/);
    assert.match(replayed, /transfer_to_Weather/);
  });
});

test("only the Agents SDK module imports @openai/agents at run time; the rest imports its types", () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith(".ts") ? [path.join(dir, entry.name)] : []));
  const sdkDir = path.join(REPO_ROOT, "src/agents/sdk");
  for (const file of sources(path.join(REPO_ROOT, "src"))) {
    if (file.startsWith(sdkDir)) continue;
    const text = readFileSync(file, "utf8");
    for (const line of text.split("\n").filter((line) => line.includes('from "@openai/agents"') || /from "[./]*agents\/sdk\//.test(line) || /from "\.\/sdk\//.test(line))) {
      assert.match(line, /^(import|export) type /, `${path.relative(REPO_ROOT, file)} loads the SDK eagerly: ${line}`);
    }
  }
});
