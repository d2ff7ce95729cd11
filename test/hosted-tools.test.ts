import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseConfig } from "../src/config/load.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { foldEvents } from "./support/client.ts";
import type { FakeOpenAI } from "./support/fake-openai.ts";

/** 1×1 PNGs: a partial image and the final one. */
const PARTIAL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const FINAL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

const HOSTED_TOOLS = [
  { type: "web_search" as const },
  { type: "file_search" as const, vector_store_ids: ["vs_docs"] },
  { type: "code_interpreter" as const, container: { type: "auto" as const } },
  { type: "image_generation" as const, partial_images: 1 },
];

describe("OpenAI's hosted tools", () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ upstream: { text: "ok" }, config: { agents: [{ ...TEST_AGENT, hostedTools: HOSTED_TOOLS }] } });
    fake = server.fake;
  });
  after(() => server.close({ removeData: true }));

  async function ask(text: string, token?: string) {
    const { events } = await server.stream("threads.create", { input: { content: [{ type: "input_text", text }], attachments: [], inference_options: {} } }, token ? { token } : {});
    const state = foldEvents(events);
    return { events, state, threadId: state.thread.id as string };
  }

  test("are passed through to the Responses API as configured", async () => {
    await ask("hi");
    assert.deepEqual(fake.requests.at(-1)!.body.tools, HOSTED_TOOLS);
    assert.equal(fake.requests.at(-1)!.body.tool_choice, "auto");
  });

  test("web search and file search become tasks with sources, and their citations annotations", async () => {
    fake.queue.push({
      hosted: [
        { type: "web_search", query: "chatkit self-hosted", sources: ["https://example.com/a", "https://example.com/b"] },
        { type: "file_search", queries: ["pricing"], results: [{ file_id: "file_1", filename: "pricing.pdf", text: "…" }] },
      ],
      text: "Found it.",
      annotations: [
        { type: "url_citation", url: "https://example.com/a", title: "Example A", start_index: 0, end_index: 5 },
        { type: "file_citation", file_id: "file_1", filename: "pricing.pdf", index: 9 },
      ],
    });
    const { state, events } = await ask("search");
    assert.equal(state.errors.length, 0);
    const [search, files] = state.items.find((item) => item.type === "workflow").workflow.tasks;
    assert.deepEqual(search, {
      type: "web_search",
      title: "Searched the web",
      title_query: "chatkit self-hosted",
      queries: ["chatkit self-hosted"],
      sources: [
        { type: "url", url: "https://example.com/a", title: "https://example.com/a" },
        { type: "url", url: "https://example.com/b", title: "https://example.com/b" },
      ],
      status_indicator: "complete",
    });
    assert.equal(files.type, "file");
    assert.deepEqual(files.sources, [{ type: "file", filename: "pricing.pdf", title: "pricing.pdf" }]);
    assert.ok(events.some((e) => e.type === "thread.item.updated" && e.update.type === "workflow.task.added" && e.update.task.status_indicator === "loading"), "a search shows while it runs");

    const answer = state.items.at(-1);
    assert.equal(answer.content[0].text, "Found it.");
    assert.deepEqual(answer.content[0].annotations.map((a: any) => a.source), [
      { type: "url", url: "https://example.com/a", title: "Example A" },
      { type: "file", filename: "pricing.pdf", title: "pricing.pdf" },
    ]);
  });

  test("a code run is a task with its code and logs", async () => {
    fake.queue.push({ hosted: [{ type: "code_interpreter", code: "print(6 * 7)", logs: "42" }], text: "42." });
    const { state } = await ask("compute");
    const [task] = state.items.find((item) => item.type === "workflow").workflow.tasks;
    assert.equal(task.type, "custom");
    assert.equal(task.title, "Ran code");
    assert.match(task.content, /print\(6 \* 7\)[\s\S]*42/);
  });

  test("a call through OpenAI-hosted remote MCP is a task with its output", async () => {
    fake.queue.push({ hosted: [{ type: "mcp", server_label: "docs", name: "lookup", arguments: { q: "x" }, output: "found x" }], text: "ok" });
    const { state } = await ask("look it up");
    const [task] = state.items.find((item) => item.type === "workflow").workflow.tasks;
    assert.deepEqual(task, { type: "custom", title: "Called docs: lookup", content: "found x", status_indicator: "complete" });
  });

  test("a generated image streams its partial image, is saved as a file and is downloadable by its owner only", async () => {
    fake.queue.push({ hosted: [{ type: "image_generation", images: [PARTIAL_PNG, FINAL_PNG] }], text: "Here it is." });
    const { events, state, threadId } = await ask("draw");
    const partial = events.find((e) => e.type === "thread.item.updated" && e.update.type === "generated_image.updated")!;
    assert.equal(partial.update.image.url, `data:image/png;base64,${PARTIAL_PNG}`);
    const image = state.items.find((item) => item.type === "generated_image");
    assert.ok(image.image.id.startsWith("atc_"));
    assert.ok(image.image.url.startsWith(`${server.url}/chatkit/attachments/${image.image.id}/preview?`), "a signed link, not base64");
    assert.equal(state.items.at(-1).content[0].text, "Here it is.");

    const bytes = Buffer.from(FINAL_PNG, "base64");
    const preview = await fetch(image.image.url);
    assert.equal(preview.status, 200);
    assert.deepEqual(Buffer.from(await preview.arrayBuffer()), bytes);
    const owner = await fetch(`${server.url}/chatkit/attachments/${image.image.id}`, { headers: { authorization: `Bearer ${await server.token()}` } });
    assert.equal(owner.status, 200);
    assert.equal(owner.headers.get("content-type"), "image/png");
    assert.deepEqual(Buffer.from(await owner.arrayBuffer()), bytes);
    const stranger = await fetch(`${server.url}/chatkit/attachments/${image.image.id}`, { headers: { authorization: `Bearer ${await server.token("mallory@example.com")}` } });
    assert.equal(stranger.status, 404);

    // Stored without the bytes; read back with a freshly signed link.
    const listed = (await server.request("items.list", { thread_id: threadId, order: "asc" })).body.data;
    const stored = listed.find((item: any) => item.type === "generated_image");
    assert.equal(stored.image.id, image.image.id);
    assert.match(stored.image.url, /\/preview\?/);
    assert.ok(!JSON.stringify(listed).includes(FINAL_PNG.slice(0, 40)));
    assert.ok(!JSON.stringify(listed).includes("sdk_hosted_call"), "the kept calls are not shown");
  });

  test("later turns send the hosted calls back in the Responses API's form, without image bytes", async () => {
    fake.queue.push({ hosted: [{ type: "web_search", query: "q", sources: ["https://example.com"] }, { type: "image_generation", images: [FINAL_PNG] }], text: "Done." });
    const { threadId } = await ask("search and draw");
    fake.queue.push({ text: "Again." });
    await server.stream("threads.add_user_message", { thread_id: threadId, input: { content: [{ type: "input_text", text: "more" }], attachments: [], inference_options: {} } });
    const input = fake.requests.at(-1)!.body.input as any[];
    assert.deepEqual(input.map((entry) => entry.type ?? entry.role), ["user", "web_search_call", "image_generation_call", "assistant", "user"]);
    assert.equal(input[1].action.query, "q");
    assert.equal(input[2].result, null);
  });

  test("need the Responses API", () => {
    assert.throws(
      () => parseConfig({ agents: [{ ...TEST_AGENT, api: "chat_completions", hostedTools: [{ type: "web_search" }] }] }),
      /agents\[0\]\.hostedTools: hosted tools need the Responses API/,
    );
    assert.throws(() => parseConfig({ agents: [{ ...TEST_AGENT, hostedTools: [{ type: "computer_use_preview" }] }] }), /agents\[0\]\.hostedTools\[0\]: type must be one of/);
    assert.throws(
      () => parseConfig({ agents: [{ ...TEST_AGENT, hostedTools: [{ type: "mcp", server_label: "docs", server_url: "https://mcp.example.com" }] }] }),
      /agents\[0\]\.hostedTools\[0\]: .*require_approval: "never"/,
    );
  });
});
