import type { ChatkitConfigInput } from "../../src/config/schema.ts";
import { startTestServer, TEST_AGENT, type TestServer } from "./app.ts";
import type { ParsedEvent } from "./sse.ts";
import type { FakeOpenAI } from "./fake-openai.ts";

/** Both upstream wire formats an agent can speak; tests where the upstream matters run in each. */
export const APIS = ["responses", "chat_completions"] as const;
export type Api = (typeof APIS)[number];

type AgentInput = NonNullable<ChatkitConfigInput["agents"]>[number];

export interface AgentHarness {
  server: TestServer;
  fake: FakeOpenAI;
  close(): Promise<void>;
}

/** The app with the given agents (TEST_AGENT's fields as defaults) talking `api` to a fresh fake upstream. */
export async function startAgentServer(api: Api, agents: Array<Partial<AgentInput>>): Promise<AgentHarness> {
  const server = await startTestServer({
    upstream: { text: "Fallback answer." },
    config: { agents: agents.map((agent) => ({ ...TEST_AGENT, ...agent, api }) as AgentInput) },
  });
  return { server, fake: server.fake, close: () => server.close({ removeData: true }) };
}

/** The tools a recorded upstream request offered, whatever the flavour. */
export function offeredTools(body: any): Array<{ name: string; description: string; parameters: unknown }> | undefined {
  if (!body.tools) return undefined;
  return body.tools.map((tool: any) => (tool.function ? tool.function : { name: tool.name, description: tool.description, parameters: tool.parameters }));
}

/** The function a recorded request forces (`tool_choice`), or its plain value ("auto", undefined). */
export function forcedToolOf(body: any): string | undefined {
  const choice = body.tool_choice;
  if (choice === undefined || typeof choice === "string") return choice;
  return choice.name ?? choice.function?.name;
}

export interface ToolExchange {
  callId: string;
  name: string;
  arguments: string;
  output: string;
}

/**
 * The tool calls and outputs a recorded request replays, checked to be in the flavour's native
 * shape: Responses `function_call` each followed (later) by its `function_call_output`; Chat
 * Completions assistant messages with `tool_calls`, each followed directly by one `tool` message
 * per call, in the calls' order. Throws when a call lacks its output or the other way round.
 */
export function toolExchanges(api: Api, body: any): ToolExchange[] {
  const exchanges: ToolExchange[] = [];
  if (api === "responses") {
    const input: any[] = body.input;
    for (const [index, item] of input.entries()) {
      if (item.type === "function_call") {
        const output = input.slice(index + 1).find((other) => other.type === "function_call_output" && other.call_id === item.call_id);
        if (!output) throw new Error(`function_call ${item.call_id} has no function_call_output after it`);
        exchanges.push({ callId: item.call_id, name: item.name, arguments: item.arguments, output: output.output });
      } else if (item.type === "function_call_output") {
        if (!input.slice(0, index).some((other) => other.type === "function_call" && other.call_id === item.call_id)) {
          throw new Error(`function_call_output ${item.call_id} has no function_call before it`);
        }
      }
    }
    return exchanges;
  }
  const messages: any[] = body.messages;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (message.role === "tool") throw new Error(`tool message ${message.tool_call_id} does not follow an assistant message with its call`);
    if (message.role !== "assistant" || !message.tool_calls) continue;
    for (const [n, call] of message.tool_calls.entries()) {
      const reply = messages[index + 1 + n];
      if (reply?.role !== "tool" || reply.tool_call_id !== call.id) throw new Error(`tool call ${call.id} is not followed by its tool message`);
      exchanges.push({ callId: call.id, name: call.function.name, arguments: call.function.arguments, output: reply.content });
    }
    index += message.tool_calls.length;
  }
  return exchanges;
}

/** The assistant messages of a recorded Chat Completions request that carry tool calls. */
export function chatToolCallMessages(body: any): any[] {
  return body.messages.filter((message: any) => message.role === "assistant" && message.tool_calls);
}

/** A compact trace of item-level events: `added:workflow`, `task.added:loading`, `done:assistant_message`… */
export function itemTrace(events: ParsedEvent[]): string[] {
  const trace: string[] = [];
  for (const event of events) {
    if (event.type === "thread.item.added" || event.type === "thread.item.done" || event.type === "thread.item.replaced") {
      trace.push(`${event.type.split(".").at(-1)}:${event.item.type}`);
    } else if (event.type === "thread.item.updated") {
      const update = event.update;
      if (update.type.startsWith("workflow.task.")) trace.push(`${update.type.slice("workflow.".length)}:${update.task.status_indicator}`);
      else if (update.type.startsWith("widget.")) trace.push(update.type);
    } else if (event.type === "progress_update" || event.type === "error" || event.type === "client_effect" || event.type === "notice") {
      trace.push(event.type);
    }
  }
  return trace;
}

/** Resolves when `check` holds, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
