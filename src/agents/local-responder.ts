import type { AgentConfig } from "../config/schema.ts";
import type { ModelRequest, ModelRunner } from "./runner.ts";

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
    const last = request.messages.filter((message) => message.role === "user").at(-1);
    const said = last?.text.trim() ?? "";
    const files = last?.attachments?.length ? ` You attached ${last.attachments.map((a) => `"${a.name}"`).join(", ")}.` : "";
    return [
      `Hello! I am the ${LOCAL_RESPONDER_NAME} of the agent "${this.agent.name}": no model is configured yet, so I can only echo.`,
      "To talk to a real model, set OPENAI_API_KEY, or point `openai.baseURL` in chatkit.config.ts at an OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio), and restart.",
      said ? `You said: "${said}".${files}` : `You sent a message without text.${files}`,
    ].join("\n\n");
  }

  async *streamText(request: ModelRequest, signal: AbortSignal): AsyncIterable<string> {
    for (const word of this.reply(request).split(/(?<=\s)/)) {
      if (this.delayMs > 0) await abortableSleep(this.delayMs, signal);
      else if (signal.aborted) throw signal.reason;
      yield word;
    }
  }
}
