import type { ThreadItem, UserMessageItem } from "../protocol/items.ts";
import type { ModelMessage } from "./runner.ts";

export function userMessageText(item: UserMessageItem): string {
  const text = item.content.map((part) => (part.type === "input_text" ? part.text : `@${part.text}`)).join(" ");
  return item.quoted_text ? `> ${item.quoted_text.replace(/\n/g, "\n> ")}\n\n${text}` : text;
}

/** Attachments are sent as files only with this many of the latest user messages; older ones are named. */
export const INLINE_ATTACHMENT_MESSAGES = 2;

/**
 * The thread as the model sees it, oldest first: user and assistant turns, plus hidden context
 * (notes for the model, such as "the user stopped the previous answer") as user-side text.
 * At most `maxMessages` of the latest messages are kept, starting with a user one; files ride
 * only with the latest user messages, so an old large or unreadable file cannot sink every turn.
 */
export function historyToMessages(items: ThreadItem[], options: { maxMessages?: number } = {}): ModelMessage[] {
  const messages: ModelMessage[] = [];
  for (const item of items) {
    switch (item.type) {
      case "user_message":
        messages.push({ role: "user", text: userMessageText(item), ...(item.attachments.length ? { attachments: item.attachments } : {}) });
        break;
      case "assistant_message": {
        const text = item.content.map((part) => part.text).join("");
        if (text.trim()) messages.push({ role: "assistant", text });
        break;
      }
      case "widget":
        if (item.copy_text) messages.push({ role: "assistant", text: item.copy_text });
        break;
      case "client_tool_call":
        if (item.status === "completed") {
          messages.push({ role: "user", text: `[client tool ${item.name}(${JSON.stringify(item.arguments)}) returned ${JSON.stringify(item.output ?? null)}]` });
        }
        break;
      case "structured_input":
        if (item.status !== "pending") {
          const answers = item.inputs.map((input) => `${input.question} ${input.answer?.skipped ? "(skipped)" : (input.answer?.values.join(", ") ?? "")}`);
          messages.push({ role: "user", text: answers.join("\n") });
        }
        break;
      case "hidden_context_item":
        messages.push({ role: "user", text: typeof item.content === "string" ? item.content : JSON.stringify(item.content) });
        break;
      case "sdk_hidden_context":
        messages.push({ role: "user", text: item.content });
        break;
      default:
        break;
    }
  }
  let recent = messages.slice(-(options.maxMessages ?? messages.length));
  while (recent.length > 1 && recent[0]!.role === "assistant") recent = recent.slice(1);
  let userMessagesSeen = 0;
  return recent
    .reverse()
    .map((message) => {
      if (message.role === "user") userMessagesSeen++;
      if (!message.attachments || userMessagesSeen <= INLINE_ATTACHMENT_MESSAGES) return message;
      const names = message.attachments.map((a) => `"${a.name}"`).join(", ");
      return { role: message.role, text: `${message.text}\n[Earlier in the conversation the user attached ${names}.]` };
    })
    .reverse();
}
