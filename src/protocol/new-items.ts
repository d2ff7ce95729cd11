import { nowIso } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type {
  AssistantMessageContent,
  AssistantMessageItem,
  ClientToolCallItem,
  GeneratedImageItem,
  HiddenContextItem,
  InferenceOptions,
  SdkHiddenContextItem,
  SdkHostedCallItem,
  SdkToolCallItem,
  StructuredInputField,
  StructuredInputItem,
  UserMessageContent,
  UserMessageItem,
  WidgetItem,
  WidgetNode,
  Workflow,
  WorkflowItem,
} from "./items.ts";

// Every new item of a thread is made here: a fresh id of the protocol's prefix and a creation
// time that keeps items made in the same millisecond in order. Fields keep the wire order.

/** The user's message; its attachments are linked once it has an id. */
export function newUserMessage(threadId: string, content: UserMessageContent[], inferenceOptions: InferenceOptions, quotedText?: string | null): UserMessageItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "user_message", content, attachments: [], ...(quotedText ? { quoted_text: quotedText } : {}), inference_options: inferenceOptions };
}

export function newAssistantMessage(threadId: string, content: AssistantMessageContent[] = []): AssistantMessageItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "assistant_message", content };
}

export function newWidgetItem(threadId: string, widget: WidgetNode, copyText?: string): WidgetItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "widget", widget, ...(copyText ? { copy_text: copyText } : {}) };
}

/** An image being generated; its `image` arrives when it is done. */
export function newGeneratedImage(threadId: string): GeneratedImageItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "generated_image" };
}

/** Questions for the user, waiting for answers. */
export function newStructuredInput(threadId: string, inputs: StructuredInputField[]): StructuredInputItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "structured_input", status: "pending", inputs };
}

export function newWorkflowItem(threadId: string, workflow: Workflow): WorkflowItem {
  return { id: newId("workflow"), thread_id: threadId, created_at: nowIso(), type: "workflow", workflow };
}

/** Context only the model sees on later turns (from the app: an action, a handler's note). */
export function newHiddenContext(threadId: string, content: unknown): HiddenContextItem {
  return { id: newId("message"), thread_id: threadId, created_at: nowIso(), type: "hidden_context_item", content };
}

/** Context only the model sees, written by the server itself (a stopped answer's note). */
export function newSdkHiddenContext(threadId: string, content: string): SdkHiddenContextItem {
  return { id: newId("sdk_hidden_context"), thread_id: threadId, created_at: nowIso(), type: "sdk_hidden_context", content };
}

/** A server tool's call, its output still to come. */
export function newSdkToolCall(threadId: string, call: { call_id: string; name: string; arguments: string; round: string | undefined }): SdkToolCallItem {
  return { id: newId("tool_call"), thread_id: threadId, created_at: nowIso(), type: "sdk_tool_call", call_id: call.call_id, name: call.name, arguments: call.arguments, output: "", round: call.round };
}

/** A call the browser runs, pending until `threads.add_client_tool_output`. */
export function newClientToolCall(threadId: string, call: { call_id: string; name: string; arguments: Record<string, unknown> }): ClientToolCallItem {
  return { id: newId("tool_call"), thread_id: threadId, created_at: nowIso(), type: "client_tool_call", status: "pending", call_id: call.call_id, name: call.name, arguments: call.arguments };
}

/** A hosted tool's call as the Responses API wrote it, kept for later turns. */
export function newSdkHostedCall(threadId: string, call: Record<string, unknown>): SdkHostedCallItem {
  return { id: newId("sdk_hosted_call"), thread_id: threadId, created_at: nowIso(), type: "sdk_hosted_call", call };
}
