import type { AgentInputItem } from "@openai/agents";
import type { ThreadItem } from "../../protocol/items.ts";
import { itemMessages } from "../history.ts";

/** The conversation an Agents SDK run continues, and the agent the previous run ended with. */
export interface SdkHistory {
  input: AgentInputItem[];
  lastAgent: string | undefined;
}

/**
 * The thread as the SDK's input items: what earlier runs added (their messages, tool calls,
 * handoffs) as they produced it, everything else (user messages, widgets, answers, hidden
 * context) as messages. It starts with something the user said, as a model's history does.
 */
export function sdkHistory(items: ThreadItem[]): SdkHistory {
  const covered = new Set(items.flatMap((item) => (item.type === "sdk_agent_run" ? item.covers : [])));
  const input: AgentInputItem[] = [];
  let lastAgent: string | undefined;
  for (const item of items) {
    if (item.type === "sdk_agent_run") {
      input.push(...(item.items as AgentInputItem[]));
      lastAgent = item.agent;
      continue;
    }
    if (covered.has(item.id)) continue;
    for (const message of itemMessages([item])) {
      switch (message.role) {
        case "user": {
          const files = message.attachments?.length ? `\n[Attached: ${message.attachments.map((file) => `"${file.name}"`).join(", ")}]` : "";
          input.push({ role: "user", content: message.text + files });
          break;
        }
        case "assistant":
          input.push({ role: "assistant", status: "completed", content: [{ type: "output_text", text: message.text }] });
          break;
        case "tool":
          input.push({ type: "function_call", callId: message.callId, name: message.name, arguments: message.arguments, status: "completed" });
          input.push({ type: "function_call_result", callId: message.callId, name: message.name, status: "completed", output: message.output });
          break;
        case "hosted":
          break;
      }
    }
  }
  const start = input.findIndex((entry) => "role" in entry && entry.role === "user");
  return { input: start === -1 ? input : input.slice(start), lastAgent };
}
