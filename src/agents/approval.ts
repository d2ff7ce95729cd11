import type { StructuredInputItem, ThreadItem } from "../protocol/items.ts";
import { newStructuredInput } from "../protocol/new-items.ts";

/**
 * Tools with `requireApproval` ask the user first: the turn ends with a `structured_input` item
 * holding one Approve / Deny question per call (its id names the call), and the stored call
 * waits as a pending `sdk_tool_call`. The answer continues the turn (`threads.add_structured_input`).
 */
const QUESTION_PREFIX = "approval:";
export const APPROVE = "Approve";
export const DENY = "Deny";
export const APPROVAL_DENIED_OUTPUT = "The user denied this call; it did not run. Do not call it again unless the user asks.";
export const APPROVAL_PENDING_OUTPUT = "This call did not run: the user has not approved it.";

const ARGUMENTS_SHOWN = 300;

export interface CallToApprove {
  callId: string;
  name: string;
  title: string;
  arguments: string;
}

export function approvalItem(threadId: string, calls: CallToApprove[]): StructuredInputItem {
  return newStructuredInput(
    threadId,
    calls.map((call) => {
      const args = call.arguments.trim() && call.arguments.trim() !== "{}" ? ` with ${call.arguments.length > ARGUMENTS_SHOWN ? `${call.arguments.slice(0, ARGUMENTS_SHOWN)}…` : call.arguments}` : "";
      return {
        type: "multiple_choice",
        id: `${QUESTION_PREFIX}${call.callId}`,
        question: `Allow "${call.title}" (${call.name})${args}?`,
        options: [{ value: APPROVE }, { value: DENY }],
        multiple: false,
      };
    }),
  );
}

export function isApprovalItem(item: ThreadItem): boolean {
  return item.type === "structured_input" && item.inputs.some((input) => input.id.startsWith(QUESTION_PREFIX));
}

/**
 * The user's decisions, by call id, from the newest approval question they answered; a skipped
 * question denies. Empty when the newest approval question is still open.
 */
export function approvalDecisions(history: ThreadItem[]): Map<string, boolean> {
  const decisions = new Map<string, boolean>();
  const item = history.findLast(isApprovalItem);
  if (!item || item.type !== "structured_input" || item.status === "pending") return decisions;
  for (const input of item.inputs) {
    if (!input.id.startsWith(QUESTION_PREFIX)) continue;
    decisions.set(input.id.slice(QUESTION_PREFIX.length), !input.answer?.skipped && input.answer?.values[0] === APPROVE);
  }
  return decisions;
}
