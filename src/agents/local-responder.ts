import type { AgentConfig } from "../config/schema.ts";
import { randomUUID } from "node:crypto";
import type { ModelEvent, ModelRequest, ModelRunner, ModelTool } from "./runner.ts";

export const LOCAL_RESPONDER_NAME = "built-in local responder";

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

type JsonSchemaProperty = { type?: string | string[] };

/**
 * What a model would make of the words after a tool's name: all of them as the first text
 * parameter ("demo echo hi there" → `{ text: "hi there" }`), or, for a tool whose parameters are
 * all numbers, one number per parameter in order ("demo add 2 3" → `{ a: 2, b: 3 }`). No words,
 * no arguments: the tool's defaults apply.
 */
export function argumentsFromWords(tool: ModelTool, words: string): Record<string, unknown> {
  const rest = words.trim();
  const properties = Object.entries((tool.parameters.properties ?? {}) as Record<string, JsonSchemaProperty>);
  if (!rest || properties.length === 0) return {};
  const typeOf = (property: JsonSchemaProperty) => [property.type ?? []].flat();
  const isNumeric = (property: JsonSchemaProperty) => typeOf(property).some((type) => type === "number" || type === "integer");
  if (properties.every(([, property]) => isNumeric(property))) {
    const numbers = rest.split(/[\s,]+/).map(Number).filter(Number.isFinite);
    return Object.fromEntries(properties.slice(0, numbers.length).map(([name], index) => [name, numbers[index]]));
  }
  const textParameter = properties.find(([, property]) => typeOf(property).includes("string"));
  return textParameter ? { [textParameter[0]]: rest } : {};
}

/**
 * Answers when no model upstream is configured, so a fresh box works in one command: it says so,
 * says how to configure a model, and echoes what the user wrote. Deterministic and offline.
 */
export class LocalResponder implements ModelRunner {
  readonly isLocal = true;
  readonly description = `${LOCAL_RESPONDER_NAME} (no API key or base URL configured)`;

  constructor(
    private readonly agent: AgentConfig,
    private readonly delayMs = 12,
  ) {}

  reply(request: ModelRequest): string {
    const last = request.messages.at(-1);
    if (last?.role === "tool") {
      const output = last.output.length > 600 ? `${last.output.slice(0, 600)}…` : last.output;
      return `I called the tool \`${last.name}\` and it returned:\n\n${output}`;
    }
    const user = request.messages.filter((message) => message.role === "user").at(-1);
    const said = user?.text.trim() ?? "";
    const files = user?.attachments?.length ? ` You attached ${user.attachments.map((a) => `"${a.name}"`).join(", ")}.` : "";
    const tools = request.tools?.length ? ` Name one of my tools in a message and I will call it: ${request.tools.map((t) => `\`${t.name}\``).join(", ")}.` : "";
    return [
      `Hello! I am the ${LOCAL_RESPONDER_NAME} of the agent "${this.agent.name}": no model is configured yet, so I can only echo.${tools}`,
      "To talk to a real model, restart with OPENAI_API_KEY set, or with a local OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio), e.g. `OPENAI_BASE_URL=http://127.0.0.1:11434/v1 CHATKIT_MODEL=llama3.2 CHATKIT_API=chat_completions npm start`.",
      said ? `You said: "${said}".${files}` : `You sent a message without text.${files}`,
    ].join("\n\n");
  }

  /**
   * The tool a real model might pick: the forced one, else one the user's latest message names
   * (by name, or by its words: `roll_dice` matches "roll dice"). Only right after a user message,
   * so a tool's result is answered in text rather than with another call.
   */
  toolToCall(request: ModelRequest): { name: string; arguments: string } | undefined {
    const last = request.messages.at(-1);
    if (!request.tools?.length || request.toolChoice === "none" || last?.role !== "user") return undefined;
    const forced = request.toolChoice;
    if (typeof forced === "object") {
      const tool = request.tools.find((candidate) => candidate.name === forced.name);
      return { name: forced.name, arguments: JSON.stringify(tool ? argumentsFromWords(tool, "") : {}) };
    }
    const text = last.text.toLowerCase();
    for (const tool of request.tools) {
      for (const spelling of [tool.name.toLowerCase(), tool.name.toLowerCase().replace(/[_-]+/g, " ")]) {
        const at = text.indexOf(spelling);
        if (at >= 0) return { name: tool.name, arguments: JSON.stringify(argumentsFromWords(tool, last.text.slice(at + spelling.length))) };
      }
    }
    return undefined;
  }

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
    const tool = this.toolToCall(request);
    if (tool) {
      if (this.delayMs > 0) await abortableSleep(this.delayMs, signal);
      yield { type: "tool_call", callId: `call_local_${randomUUID()}`, name: tool.name, arguments: tool.arguments };
      return;
    }
    for (const word of this.reply(request).split(/(?<=\s)/)) {
      if (this.delayMs > 0) await abortableSleep(this.delayMs, signal);
      else if (signal.aborted) throw signal.reason;
      yield { type: "text.delta", delta: word };
    }
  }
}
