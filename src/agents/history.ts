import type { ThreadItem, UserMessageItem } from "../protocol/items.ts";
import { APPROVAL_PENDING_OUTPUT, approvalDecisions, isApprovalItem } from "./approval.ts";
import type { ModelMessage } from "./runner.ts";

export function userMessageText(item: UserMessageItem): string {
  const text = item.content.map((part) => (part.type === "input_text" ? part.text : `@${part.text}`)).join(" ");
  return item.quoted_text ? `> ${item.quoted_text.replace(/\n/g, "\n> ")}\n\n${text}` : text;
}

const WIDGET_TEXT_LIMIT = 2_000;

const truncate = (text: string, limit: number) => (text.length > limit ? `${text.slice(0, limit)}…` : text);

/** A tool's result as the text the model reads: strings as they are, anything else as JSON. */
export function toolOutputText(output: unknown): string {
  if (typeof output === "string") return output;
  return JSON.stringify(output ?? null) ?? "null";
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
  const messages = itemMessages(items);
  let recent = messages.slice(-(options.maxMessages ?? messages.length));
  // The model's view starts with something the user said, not an answer or a tool's output.
  while (recent.length > 1 && recent[0]!.role !== "user") recent = recent.slice(1);
  let userMessagesSeen = 0;
  return recent
    .reverse()
    .map((message): ModelMessage => {
      if (message.role !== "user") return message;
      userMessagesSeen++;
      if (!message.attachments || userMessagesSeen <= INLINE_ATTACHMENT_MESSAGES) return message;
      const names = message.attachments.map((a) => `"${a.name}"`).join(", ");
      return { role: "user", text: `${message.text}\n[Earlier in the conversation the user attached ${names}.]` };
    })
    .reverse();
}

/**
 * Each item as the model sees it, in order: at most one message per item (a tool call and its
 * output are one), none for what the model does not see (workflows, pending calls, questions).
 */
export function itemMessages(items: ThreadItem[]): ModelMessage[] {
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
        messages.push({ role: "assistant", text: item.copy_text ?? `[Shown to the user: a widget ${truncate(JSON.stringify(item.widget), WIDGET_TEXT_LIMIT)}]` });
        break;
      case "client_tool_call":
        if (item.status === "completed") {
          messages.push({ role: "tool", callId: item.call_id, name: item.name, arguments: JSON.stringify(item.arguments), output: toolOutputText(item.output) });
        }
        break;
      case "sdk_tool_call":
        messages.push({
          role: "tool",
          callId: item.call_id,
          name: item.name,
          arguments: item.arguments,
          output: item.approval === "pending" ? APPROVAL_PENDING_OUTPUT : item.output,
          round: item.round,
        });
        break;
      case "structured_input":
        // An approval's answer is already in the call's output.
        if (item.status !== "pending" && !isApprovalItem(item)) {
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
      case "sdk_hosted_call":
        messages.push({ role: "hosted", item: item.call });
        break;
      default:
        break;
    }
  }
  return messages;
}

/** Reads the thread's newest `limit` items, oldest first. */
export type RecentItemsReader = (limit: number) => Promise<ThreadItem[]>;

/**
 * How many items a turn may read per message the model is sent: items the model does not see
 * (workflows, pending calls, questions) sit between messages, but never without bound.
 */
export const HISTORY_ITEMS_PER_MESSAGE = 8;

export interface RecentHistory {
  /** The thread's newest items, oldest first. */
  items: ThreadItem[];
  /** Whether `items` is the whole thread. */
  wholeThread: boolean;
}

/**
 * The items a turn needs, never the whole of a long thread: read newest first, as many as make
 * `maxMessages` messages (so `historyToMessages` keeps exactly what it would keep of the whole
 * thread), reaching back to `reach` (an older item the user has just answered) and to every call
 * the newest answered approval decides. The read doubles until that holds, the thread's start
 * is reached, or `maxMessages × HISTORY_ITEMS_PER_MESSAGE` items were read.
 */
export async function recentHistory(read: RecentItemsReader, options: { maxMessages: number; reach?: string | undefined }): Promise<RecentHistory> {
  const bound = options.maxMessages * HISTORY_ITEMS_PER_MESSAGE;
  for (let limit = Math.min(bound, 2 * options.maxMessages); ; limit = Math.min(bound, 2 * limit)) {
    // One more than asked for tells whether older items remain.
    const items = await read(limit + 1);
    const wholeThread = items.length <= limit;
    if (!wholeThread) items.shift();
    if (wholeThread || limit >= bound || holdsEnough(items, options)) return { items, wholeThread };
  }
}

function holdsEnough(items: ThreadItem[], options: { maxMessages: number; reach?: string | undefined }): boolean {
  if (itemMessages(items).length < options.maxMessages) return false;
  if (options.reach !== undefined && !items.some((item) => item.id === options.reach)) return false;
  const decided = approvalDecisions(items);
  if (decided.size === 0) return true;
  const calls = new Set(items.flatMap((item) => (item.type === "sdk_tool_call" ? [item.call_id] : [])));
  return [...decided.keys()].every((callId) => calls.has(callId));
}
