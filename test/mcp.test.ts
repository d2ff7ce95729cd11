import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../src/config/load.ts";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { McpConnection } from "../src/mcp/connection.ts";
import { McpRegistry, namespacedToolName } from "../src/mcp/registry.ts";
import { memoryLogger, startTestServer, TEST_AGENT, type TestServer } from "./support/app.ts";
import { foldEvents } from "./support/client.ts";
import type { FakeOpenAI } from "./support/fake-openai.ts";
import { startHttpMcpServer, type HttpMcpServer } from "./support/mcp-server.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The bundled test server over stdio, as the default config starts it. */
const stdioServer = (extra: Record<string, unknown> = {}) => ({
  command: process.execPath,
  args: ["--import", "tsx", "test/support/mcp-server.ts"],
  cwd: root,
  ...extra,
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The tool outputs the model was sent, in either flavour's request body. */
function toolOutputsSent(body: any): string[] {
  if (body.input) return body.input.filter((entry: any) => entry.type === "function_call_output").map((entry: any) => entry.output);
  return body.messages.filter((message: any) => message.role === "tool").map((message: any) => message.content);
}

const toolNamesOffered = (body: any): string[] => (body.tools ?? []).map((tool: any) => tool.name ?? tool.function.name);

describe("MCP servers", () => {
  let fake: FakeOpenAI;
  let http: HttpMcpServer;
  let server: TestServer;

  before(async () => {
    http = await startHttpMcpServer();
    server = await startTestServer({
      upstream: { text: "Done." },
      config: {
        mcpServers: { demo: stdioServer({ timeoutMs: 6_000 }) },
        agents: [
          { ...TEST_AGENT },
          {
            ...TEST_AGENT,
            id: "chat",
            api: "chat_completions",
            mcpServers: { remote: { url: http.url, headers: { authorization: "Bearer remote-token" }, tools: ["add", "echo"], requireApproval: ["echo"] } },
          },
        ],
      },
    });
    fake = server.fake;
  });
  after(async () => {
    await server.close({ removeData: true });
    await http.close();
  });

  async function ask(text: string, agentId = TEST_AGENT.id) {
    const { events } = await server.stream("threads.create", { input: { content: [{ type: "input_text", text }], attachments: [], inference_options: {} } }, { agentId });
    const state = foldEvents(events);
    return { events, state, threadId: state.thread.id as string };
  }

  test("tool names are namespaced within 64 characters and kept apart when shortened", () => {
    assert.equal(namespacedToolName("demo", "echo"), "demo__echo");
    assert.equal(namespacedToolName("fs", "read.file"), "fs__read_file");
    const long = namespacedToolName("server", "x".repeat(80));
    const other = namespacedToolName("server", `${"x".repeat(79)}y`);
    assert.ok(long.length <= 64 && other.length <= 64);
    assert.notEqual(long, other);
  });

  test("the stdio server's tools are offered namespaced, box-wide; the HTTP server's through its allow-list", async () => {
    fake.queue.push({ text: "hi" }, { text: "hi" });
    await ask("hello");
    assert.deepEqual(toolNamesOffered(fake.requests.at(-1)!.body).sort(), ["demo__add", "demo__after_cancel", "demo__crash", "demo__echo", "demo__fail", "demo__hang", "demo__whoami"]);
    const add = fake.requests.at(-1)!.body.tools.find((tool: any) => tool.name === "demo__add");
    assert.equal(add.type, "function");
    assert.deepEqual(add.parameters.required, ["a", "b"], "the server's JSON schema is passed through");

    await ask("hello", "chat");
    assert.deepEqual(toolNamesOffered(fake.requests.at(-1)!.body).sort(), ["demo__add", "demo__after_cancel", "demo__crash", "demo__echo", "demo__fail", "demo__hang", "demo__whoami", "remote__add", "remote__echo"]);
    assert.equal(http.requests.at(-1)!.headers.authorization, "Bearer remote-token", "configured headers reach the server");
  });

  test("a call is routed to the stdio server and its result returned (Responses API), shown as a task", async () => {
    fake.queue.push({ toolCalls: [{ name: "demo__add", arguments: { a: 2, b: 40 } }] }, { text: "It is 42." });
    const before = fake.requests.length;
    const { state } = await ask("add 2 and 40");
    assert.deepEqual(toolOutputsSent(fake.requests[before + 1]!.body), ["42"]);
    const workflow = state.items.find((item) => item.type === "workflow");
    assert.equal(workflow.workflow.tasks[0].title, "Add (demo)");
    assert.equal(workflow.workflow.tasks[0].status_indicator, "complete");
    assert.equal(state.items.at(-1).content[0].text, "It is 42.");
  });

  test("a call is routed to the HTTP server and its result returned (Chat Completions)", async () => {
    fake.queue.push({ toolCalls: [{ name: "remote__add", arguments: { a: 1, b: 1 } }, { name: "demo__echo", arguments: { text: "x" } }] }, { text: "ok" });
    const before = fake.requests.length;
    await ask("add", "chat");
    assert.deepEqual(toolOutputsSent(fake.requests[before + 1]!.body), ["2", "echo: x"]);
  });

  test("arguments that break the server's schema are refused before the server is called", async () => {
    fake.queue.push({ toolCalls: [{ name: "demo__add", arguments: { a: "two" } }] }, { text: "ok" });
    const before = fake.requests.length;
    await ask("add");
    const [output] = toolOutputsSent(fake.requests[before + 1]!.body);
    assert.match(output!, /^Error: invalid arguments/);
  });

  test("a tool error becomes an error result and a failed task; the turn goes on", async () => {
    fake.queue.push({ toolCalls: [{ name: "demo__fail" }] }, { text: "It failed." });
    const before = fake.requests.length;
    const { state } = await ask("fail");
    assert.deepEqual(toolOutputsSent(fake.requests[before + 1]!.body), ["Error: this tool always fails"]);
    const task = state.items.find((item) => item.type === "workflow").workflow.tasks[0];
    assert.match(task.content, /^Failed: this tool always fails/);
    assert.equal(state.errors.length, 0);
  });

  test("a server that hangs past its timeout fails the call, not the stream", async () => {
    fake.queue.push({ toolCalls: [{ name: "demo__hang" }] }, { text: "Too slow." });
    const before = fake.requests.length;
    const { state } = await ask("hang");
    const [output] = toolOutputsSent(fake.requests[before + 1]!.body);
    assert.match(output!, /^Error: MCP server "demo" failed: .*timed out/i);
    assert.equal(state.items.at(-1).content[0].text, "Too slow.");
  });

  test("a stdio server that crashes fails the call and is restarted on next use", async () => {
    fake.queue.push({ toolCalls: [{ name: "demo__whoami" }] }, { text: "ok" });
    let before = fake.requests.length;
    await ask("who");
    const firstPid = Number(toolOutputsSent(fake.requests[before + 1]!.body)[0]!.replace("pid ", ""));
    assert.ok(isAlive(firstPid));

    fake.queue.push({ toolCalls: [{ name: "demo__crash" }] }, { text: "It crashed." });
    before = fake.requests.length;
    const crashed = await ask("crash");
    assert.match(toolOutputsSent(fake.requests[before + 1]!.body)[0]!, /^Error: MCP server "demo" failed/);
    assert.equal(crashed.state.errors.length, 0);
    await waitFor(() => !isAlive(firstPid), "the crashed server to exit");

    fake.queue.push({ toolCalls: [{ name: "demo__whoami" }] }, { text: "ok" });
    before = fake.requests.length;
    await ask("who");
    const secondPid = Number(toolOutputsSent(fake.requests[before + 1]!.body)[0]!.replace("pid ", ""));
    assert.ok(secondPid > 0 && secondPid !== firstPid, "a new process answers");
  });

  test("approval: the turn stops with Approve / Deny; approving runs the call and continues", async () => {
    fake.queue.push({ toolCalls: [{ name: "remote__echo", arguments: { text: "secret" } }] });
    const httpCallsBefore = http.requests.length;
    const { state, threadId, events } = await ask("echo secret", "chat");
    const question = state.items.at(-1);
    assert.equal(question.type, "structured_input");
    assert.equal(question.status, "pending");
    assert.deepEqual(question.inputs[0].options.map((o: any) => o.value), ["Approve", "Deny"]);
    assert.match(question.inputs[0].question, /Echo \(remote\).*secret/);
    assert.ok(!events.some((e) => e.type === "thread.item.added" && e.item.type === "workflow"), "nothing ran");
    const sentBefore = fake.requests.length;

    fake.queue.push({ text: "Echoed." });
    const { events: resumed } = await server.stream("threads.add_structured_input", {
      thread_id: threadId,
      item_id: question.id,
      input: { status: "answered", answers: { [question.inputs[0].id]: { values: ["Approve"], skipped: false } } },
    }, { agentId: "chat" });
    assert.equal(fake.requests.length, sentBefore + 1);
    assert.deepEqual(toolOutputsSent(fake.requests.at(-1)!.body), ["echo: secret"]);
    assert.ok(http.requests.length > httpCallsBefore);
    const after = foldEvents(resumed);
    assert.equal(after.items.find((item) => item.type === "workflow").workflow.tasks[0].status_indicator, "complete");
    assert.equal(after.items.at(-1).content[0].text, "Echoed.");
    // The answered question is not told to the model again as a user message.
    assert.equal(fake.requests.at(-1)!.body.messages.filter((m: any) => m.role === "user").length, 1);
  });

  test("approval: a denial goes to the model as the tool's result and nothing runs", async () => {
    fake.queue.push({ toolCalls: [{ name: "remote__echo", arguments: { text: "no" } }] });
    const { state, threadId } = await ask("echo no", "chat");
    const question = state.items.at(-1);
    const httpCallsBefore = http.requests.length;
    fake.queue.push({ text: "Understood." });
    await server.stream("threads.add_structured_input", {
      thread_id: threadId,
      item_id: question.id,
      input: { status: "answered", answers: { [question.inputs[0].id]: { values: ["Deny"], skipped: false } } },
    }, { agentId: "chat" });
    assert.match(toolOutputsSent(fake.requests.at(-1)!.body)[0]!, /denied/);
    assert.equal(http.requests.length, httpCallsBefore, "the server was not called");
  });

  test("a remote server that goes away fails calls, then is reached again once it is back (a new session: it forgot ours)", async () => {
    const port = Number(new URL(http.url).port);
    await http.close();
    fake.queue.push({ toolCalls: [{ name: "remote__add", arguments: { a: 1, b: 2 } }] }, { text: "down" });
    let before = fake.requests.length;
    const down = await ask("add", "chat");
    assert.match(toolOutputsSent(fake.requests[before + 1]!.body)[0]!, /^Error: MCP server "remote" failed/);
    assert.equal(down.state.errors.length, 0);

    http = await startHttpMcpServer(port);
    fake.queue.push({ toolCalls: [{ name: "remote__add", arguments: { a: 1, b: 2 } }] }, { text: "up" });
    before = fake.requests.length;
    await ask("add", "chat");
    assert.deepEqual(toolOutputsSent(fake.requests[before + 1]!.body), ["3"]);
  });
});

describe("MCP lifecycle", () => {
  test("connections are lazy, reused, and closed at shutdown (the stdio process ends)", async () => {
    const config = parseConfig({ agents: [TEST_AGENT], mcpServers: { demo: stdioServer() } });
    const registry = new McpRegistry(config, memoryLogger());
    const [connection] = registry.serversOf(config.agents[0]!);
    assert.equal(connection!.isConnected, false, "nothing connects before it is needed");
    await registry.toolsFor(config.agents[0]!);
    await registry.toolsFor(config.agents[0]!);
    assert.equal(connection!.connects, 1, "one connection serves every turn");
    const result = await connection!.callTool("whoami", {}, new AbortController().signal);
    const pid = Number((result.content[0] as { text: string }).text.replace("pid ", ""));
    assert.ok(isAlive(pid));
    await registry.close();
    assert.equal(connection!.isConnected, false);
    await waitFor(() => !isAlive(pid), "the stdio server to exit");
    await assert.rejects(registry.serversOf(config.agents[0]!)[0]!.listTools(), /shut down/);
  });

  test("a server that cannot start is reported, and the agent still answers without its tools", async () => {
    const config = parseConfig({ agents: [TEST_AGENT], mcpServers: { broken: { command: process.execPath, args: ["-e", "process.exit(1)"], timeoutMs: 5_000 } } });
    const registry = new McpRegistry(config, memoryLogger());
    try {
      assert.equal(registry.needsConnecting(config.agents[0]!), true);
      assert.deepEqual(await registry.toolsFor(config.agents[0]!), []);
      assert.equal(registry.needsConnecting(config.agents[0]!), false, "a server that just failed is not waited on by the next turns");
      const [status] = await registry.status(config.agents[0]!);
      assert.equal(status!.ok, false);
      assert.match(status!.error!, /could not connect to MCP server "broken"/);
    } finally {
      await registry.close();
    }
  });

  test("config: a server needs command or url; agent servers may not shadow box-wide ones", () => {
    assert.throws(() => parseConfig({ agents: [TEST_AGENT], mcpServers: { x: { args: [] } } }), /mcpServers\.x: needs either `command`/);
    assert.throws(
      () => parseConfig({ mcpServers: { x: { url: "http://127.0.0.1:1/mcp" } }, agents: [{ ...TEST_AGENT, mcpServers: { x: { url: "http://127.0.0.1:2/mcp" } } }] }),
      /agents\[0\]\.mcpServers\.x: "x" is already a box-wide MCP server/,
    );
  });
});

describe("MCP: a call that times out is cancelled on its own", () => {
  const timeoutMs = 4_000;
  const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

  /**
   * A call that hangs past its timeout next to one that answers only once the server has seen
   * that cancellation, so it is in flight when the first one times out. The second starts half a
   * timeout later, so its own timeout leaves it that long to be answered.
   */
  async function hangBesideAnotherCall(connection: McpConnection): Promise<string> {
    const hung = assert.rejects(connection.callTool("hang", {}, new AbortController().signal), /timed out/i);
    await new Promise((resolve) => setTimeout(resolve, timeoutMs / 2));
    const other = await connection.callTool("after_cancel", {}, new AbortController().signal);
    await hung;
    return textOf(other);
  }

  test("stdio (a server that exits when its input ends): the other call gets its result, the process is not restarted", async () => {
    const config = parseConfig({ agents: [TEST_AGENT], mcpServers: { demo: stdioServer({ timeoutMs }) } });
    const registry = new McpRegistry(config, memoryLogger());
    try {
      const [connection] = registry.serversOf(config.agents[0]!);
      const pid = textOf(await connection!.callTool("whoami", {}, new AbortController().signal));
      assert.equal(await hangBesideAnotherCall(connection!), "a hung call was cancelled", "the server was told about the cancellation");
      assert.equal(textOf(await connection!.callTool("whoami", {}, new AbortController().signal)), pid, "the same process answers");
      assert.equal(connection!.connects, 1);
    } finally {
      await registry.close();
    }
  });

  test("HTTP: the other call gets its result, the session is kept", async () => {
    const http = await startHttpMcpServer();
    const config = parseConfig({ agents: [TEST_AGENT], mcpServers: { remote: { url: http.url, timeoutMs } } });
    const registry = new McpRegistry(config, memoryLogger());
    try {
      const [connection] = registry.serversOf(config.agents[0]!);
      assert.equal(await hangBesideAnotherCall(connection!), "a hung call was cancelled", "the server was told about the cancellation");
      assert.equal(textOf(await connection!.callTool("add", { a: 1, b: 2 }, new AbortController().signal)), "3");
      assert.equal(connection!.connects, 1);
      assert.equal(http.sessions, 1, "one session served every call");
    } finally {
      await registry.close();
      await http.close();
    }
  });
});

describe("MCP with no model configured", () => {
  test("the local responder calls the bundled server's tool a message names, and shows task and result", async () => {
    const server = await startTestServer({ config: { mcpServers: { demo: stdioServer({ tools: ["echo", "add"] }) } } });
    try {
      const { events } = await server.stream("threads.create", { input: { content: [{ type: "input_text", text: "Please run demo echo" }], attachments: [], inference_options: {} } });
      const state = foldEvents(events);
      const workflow = state.items.find((item) => item.type === "workflow");
      assert.deepEqual(workflow.workflow.tasks.map((task: any) => [task.title, task.status_indicator]), [["Echo (demo)", "complete"]]);
      const answer = state.items.at(-1);
      assert.equal(answer.type, "assistant_message");
      assert.match(answer.content[0].text, /I called the tool `demo__echo` and it returned:\s+echo: hello/);
    } finally {
      await server.close({ removeData: true });
    }
  });

  test("the words after the tool's name are its argument: the whole text, or one number per numeric parameter", async () => {
    const server = await startTestServer({ config: { mcpServers: { demo: stdioServer({ tools: ["echo", "add"] }) } } });
    try {
      const answerTo = async (text: string) => {
        const { events } = await server.stream("threads.create", { input: { content: [{ type: "input_text", text }], attachments: [], inference_options: {} } });
        return foldEvents(events).items.at(-1).content[0].text as string;
      };
      assert.match(await answerTo("demo echo hi there"), /I called the tool `demo__echo` and it returned:\s+echo: hi there$/);
      assert.match(await answerTo("Demo add 2 3"), /I called the tool `demo__add` and it returned:\s+5$/);
    } finally {
      await server.close({ removeData: true });
    }
  });
});
