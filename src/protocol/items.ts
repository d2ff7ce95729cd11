/**
 * Wire shapes of the ChatKit data model (protocol reference, section 3), with the JSON field
 * names exactly as they go over the wire. Null fields are left out when serialised.
 */

export type ThreadStatus =
  | { type: "active" }
  | { type: "locked"; reason?: string }
  | { type: "closed"; reason?: string };

export interface Page<T> {
  data: T[];
  has_more: boolean;
  after?: string;
}

export interface ThreadMetadata {
  id: string;
  title?: string;
  created_at: string;
  status: ThreadStatus;
  allowed_image_domains?: string[];
  /** Always `{}` on the wire: server-side metadata never leaves the server. */
  metadata: Record<string, never>;
}

export interface Thread extends ThreadMetadata {
  items: Page<ThreadItem>;
}

export interface UploadDescriptor {
  url: string;
  method: "POST" | "PUT";
  headers: Record<string, string>;
}

interface AttachmentBase {
  id: string;
  name: string;
  mime_type: string;
  thread_id?: string;
  upload_descriptor?: UploadDescriptor;
}
export type Attachment =
  | (AttachmentBase & { type: "file" })
  | (AttachmentBase & { type: "image"; preview_url: string });

export type UserMessageContent =
  | { type: "input_text"; text: string }
  | { type: "input_tag"; id: string; text: string; data: Record<string, unknown>; group?: string; interactive: boolean };

export interface InferenceOptions {
  tool_choice?: { id: string };
  model?: string;
}

export type Source =
  | { type: "url"; title: string; url: string; attribution?: string; description?: string; timestamp?: string; group?: string }
  | { type: "file"; title: string; filename: string; description?: string; timestamp?: string; group?: string }
  | {
      type: "entity";
      title: string;
      id: string;
      icon?: string;
      label?: string;
      inline_label?: string;
      interactive: boolean;
      data: Record<string, unknown>;
      description?: string;
      timestamp?: string;
      group?: string;
    };

export interface Annotation {
  type: "annotation";
  source: Source;
  index?: number;
}

export interface AssistantMessageContent {
  type: "output_text";
  text: string;
  annotations: Annotation[];
}

export type TaskStatusIndicator = "none" | "loading" | "complete";
export type Task =
  | { type: "custom"; title?: string; icon?: string; content?: string; status_indicator: TaskStatusIndicator }
  | { type: "web_search"; title?: string; title_query?: string; queries: string[]; sources: Source[]; status_indicator: TaskStatusIndicator }
  | { type: "thought"; title?: string; content: string; status_indicator: TaskStatusIndicator }
  | { type: "file"; title?: string; sources: Source[]; status_indicator: TaskStatusIndicator }
  | { type: "image"; title?: string; status_indicator: TaskStatusIndicator };

export interface Workflow {
  type: "custom" | "reasoning";
  tasks: Task[];
  summary?: { title: string; icon?: string } | { duration: number };
  expanded: boolean;
}

/** A widget tree (section 6): PascalCase `type`, camelCase props. Kept open: the client owns the catalogue. */
export interface WidgetNode {
  type: string;
  id?: string;
  key?: string;
  children?: WidgetNode[];
  [prop: string]: unknown;
}

export type StructuredInputAnswer = { values: string[]; skipped: boolean };
export type StructuredInputField =
  | { type: "multiple_choice"; id: string; question: string; options: Array<{ value: string }>; multiple: boolean; answer?: StructuredInputAnswer }
  | { type: "freeform"; id: string; question: string; description?: string; answer?: StructuredInputAnswer };

interface ItemBase {
  id: string;
  thread_id: string;
  created_at: string;
}

export type UserMessageItem = ItemBase & {
  type: "user_message";
  content: UserMessageContent[];
  attachments: Attachment[];
  quoted_text?: string;
  inference_options: InferenceOptions;
};
export type AssistantMessageItem = ItemBase & { type: "assistant_message"; content: AssistantMessageContent[] };
export type ClientToolCallItem = ItemBase & {
  type: "client_tool_call";
  status: "pending" | "completed";
  call_id: string;
  name: string;
  arguments: Record<string, unknown>;
  output?: unknown;
};
export type WidgetItem = ItemBase & { type: "widget"; widget: WidgetNode; copy_text?: string };
export type GeneratedImageItem = ItemBase & { type: "generated_image"; image?: { id: string; url: string } };
export type StructuredInputItem = ItemBase & {
  type: "structured_input";
  status: "pending" | "answered" | "skipped";
  inputs: StructuredInputField[];
};
export type WorkflowItem = ItemBase & { type: "workflow"; workflow: Workflow };
export type TaskItem = ItemBase & { type: "task"; task: Task };
export type EndOfTurnItem = ItemBase & { type: "end_of_turn" };
export type HiddenContextItem = ItemBase & { type: "hidden_context_item"; content: unknown };
export type SdkHiddenContextItem = ItemBase & { type: "sdk_hidden_context"; content: string };
/**
 * A server tool's call and its output, kept for the model (as the seed's tool-call and
 * tool-result roles) and never sent to the client. One item holds both, so trimming history
 * cannot separate them.
 */
export type SdkToolCallItem = ItemBase & {
  type: "sdk_tool_call";
  call_id: string;
  name: string;
  arguments: string;
  output: string;
  /** Calls the model made in one response share it (their round's first call id). */
  round?: string;
  /** For a tool that needs the user's approval: waiting for it, or what the user decided. */
  approval?: "pending" | "approved" | "denied";
};

/** A hosted tool's call (web search, image generation, ...) as the Responses API wrote it, kept for later turns. */
export type SdkHostedCallItem = ItemBase & { type: "sdk_hosted_call"; call: Record<string, unknown> };

/**
 * What an Agents SDK run added to the conversation (its messages, tool calls and outputs,
 * handoffs, as the SDK's input items) and the agent it ended with, kept so later turns replay it.
 * `covers` names the assistant messages it shows, which are not sent twice.
 */
export type SdkAgentRunItem = ItemBase & { type: "sdk_agent_run"; agent: string; items: Array<Record<string, unknown>>; covers: string[] };

export type ThreadItem =
  | UserMessageItem
  | AssistantMessageItem
  | ClientToolCallItem
  | WidgetItem
  | GeneratedImageItem
  | StructuredInputItem
  | WorkflowItem
  | TaskItem
  | EndOfTurnItem
  | HiddenContextItem
  | SdkHiddenContextItem
  | SdkToolCallItem
  | SdkHostedCallItem
  | SdkAgentRunItem;

export type ThreadItemType = ThreadItem["type"];

/** Items stored for the model's benefit and never sent to the client. */
export const HIDDEN_ITEM_TYPES = ["hidden_context_item", "sdk_hidden_context", "sdk_tool_call", "sdk_hosted_call", "sdk_agent_run"] as const satisfies readonly ThreadItemType[];

export function isHiddenItem(item: ThreadItem): item is HiddenContextItem | SdkHiddenContextItem | SdkToolCallItem | SdkHostedCallItem | SdkAgentRunItem {
  return (HIDDEN_ITEM_TYPES as readonly string[]).includes(item.type);
}

export type FeedbackKind = "positive" | "negative";
