import type { ChatKitIcon } from "@openai/chatkit";
import type { z } from "zod";
import type { ConfigAction, ConfigTool } from "../config/tools.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { Source, StructuredInputField, WidgetItem } from "../protocol/items.ts";
import type { WidgetComponent, WidgetRoot } from "../widgets/builder.ts";

/** Who and where a tool or action runs for. */
export interface RunScope {
  user: { id: string; email: string };
  thread: { id: string; title: string | null };
  agent: { id: string; name: string };
  /** Aborted when the user stops the answer or goes away. */
  signal: AbortSignal;
}

/** A widget item a handler put into the thread, to update while the turn runs. */
export interface WidgetHandle {
  readonly itemId: string;
  /** Sends only what changed (streamed text deltas, or the whole tree), as `thread.item.updated`. */
  update(next: WidgetRoot): void;
  /** Replaces the one component with this `id` (`widget.component.updated`). */
  updateComponent(componentId: string, component: WidgetComponent): void;
  /** Marks the widget finished and stores its final state. */
  done(): void;
}

/** What a handler can send to the user while it runs; everything is streamed at once. */
export interface StreamingContext extends RunScope {
  /** A `progress_update` line ("Searching…"). */
  progress(text: string, icon?: string): void;
  /**
   * Puts a widget into the thread. A root is shown as is; an async iterable of roots streams:
   * each new root is diffed against the previous one. Resolves with the widget item's id.
   */
  widget(root: WidgetRoot | AsyncIterable<WidgetRoot>, options?: { copyText?: string }): Promise<string>;
  /** Starts a widget to be updated step by step (`handle.update(...)`, then `handle.done()`). */
  startWidget(root: WidgetRoot, options?: { copyText?: string }): WidgetHandle;
  /** A `client_effect` for the page's `onEffect` handler. */
  effect(name: string, data?: Record<string, unknown>): void;
  /** A `notice` shown above the composer. */
  notice(message: string, options?: { level?: "info" | "warning" | "danger"; title?: string }): void;
  /** Stores context only the model sees on later turns (a `hidden_context_item`). */
  addHiddenContext(content: unknown): void;
  /** Streams any protocol event as is; for what the helpers above do not cover. */
  emit(event: ThreadStreamEvent): void;
}

/** What a server tool's handler gets besides its validated arguments. */
export interface ToolContext extends StreamingContext {
  /** The model's call id. */
  callId: string;
  /** Cites a source: it becomes an annotation on the answer the model writes next. */
  cite(source: Source): void;
  /**
   * Asks the user (multiple choice or free-form) in a `structured_input` item. The turn ends
   * after this round; the answers come back as the user's next message and the model continues.
   */
  askUser(inputs: StructuredInputQuestion[]): void;
}

/** A question for `askUser`; ids name the answers. */
export type StructuredInputQuestion =
  | { type: "multiple_choice"; id: string; question: string; options: string[]; multiple?: boolean }
  | { type: "freeform"; id: string; question: string; description?: string };

export type { StructuredInputField };

/** How the user sees a tool at work: a task in a workflow (default), a progress line, or nothing. */
export type ToolDisplay = "workflow" | "progress" | "hidden";

interface ToolBase<P extends z.ZodType> {
  /** What the model calls it: letters, digits, `_` and `-`, at most 64. */
  name: string;
  /** What the model is told the tool does. */
  description: string;
  /** The arguments, as a zod schema: sent to the model as JSON schema and checked before the handler runs. */
  parameters: P;
  /** What the user sees while it runs, e.g. "Looking up the order…"; defaults to the tool's name. */
  title?: string | ((args: z.output<P>) => string);
  display?: ToolDisplay;
  /** Milliseconds the handler may run (60 000); then its signal aborts and the model is told it timed out. */
  timeoutMs?: number;
  /**
   * Offer the tool in the composer's tool menu, so the user can make the model use it
   * (`inference_options.tool_choice`).
   */
  composer?: { label: string; icon?: ChatKitIcon; shortLabel?: string; placeholderOverride?: string; pinned?: boolean };
}

/** A tool that runs on this server. */
export interface ServerTool<P extends z.ZodType = z.ZodType> extends ToolBase<P> {
  /** Returns what the model is told (a string as is, anything else as JSON). A throw tells the model it failed. */
  handler: (args: z.output<P>, context: ToolContext) => unknown;
}

/**
 * A tool the browser runs (`onClientTool` on the page): the turn ends with a pending
 * `client_tool_call` item, and `threads.add_client_tool_output` continues it.
 */
export interface ClientTool<P extends z.ZodType = z.ZodType> extends ToolBase<P> {
  handler?: undefined;
}

export type ToolDefinition<P extends z.ZodType = z.ZodType> = ServerTool<P> | ClientTool<P>;

/**
 * Types a tool so its handler's arguments are inferred from `parameters`.
 *
 * @example
 * defineTool({
 *   name: "order_status", description: "Looks up an order", parameters: z.object({ id: z.string() }),
 *   title: ({ id }) => `Looking up order ${id}…`,
 *   handler: async ({ id }) => ({ id, status: "shipped" }),
 * })
 */
export function defineTool<P extends z.ZodType>(tool: ServerTool<P> | ClientTool<P>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** What an action handler gets. */
export interface ActionContext extends StreamingContext {
  /** The widget item the action came from, if any. */
  sender: WidgetItem | undefined;
  /** Replaces the sender widget (`thread.item.replaced`; in a sync action, the `updated_item`). */
  updateSender(root: WidgetRoot, options?: { copyText?: string }): void;
  /** Adds an assistant message with this text. */
  say(text: string): void;
  /** After the handler, let the model answer (it sees the action as hidden context). */
  respond(): void;
  /** True for `threads.sync_custom_action`: only `updateSender` and stored items take effect. */
  sync: boolean;
}

export interface ActionDefinition<P extends z.ZodType = z.ZodType> {
  /** Checks the payload; an invalid one ends the stream with an error and runs nothing. */
  payload?: P;
  /** Milliseconds the handler may run (60 000); then its signal aborts and the user sees an error. */
  timeoutMs?: number;
  handler: (action: { type: string; payload: z.output<P> }, context: ActionContext) => unknown;
}

/**
 * Types an action handler so its payload is inferred from the schema.
 *
 * @example
 * actions: { "order.cancel": defineAction({ payload: z.object({ id: z.string() }), handler: async ({ payload }, ctx) => ... }) }
 */
export function defineAction<P extends z.ZodType>(action: ActionDefinition<P>): ActionDefinition {
  return action as unknown as ActionDefinition;
}

/** A tool of the config as its full definition: the config checked its shape, `defineTool` its types. */
export function toolDefinition(tool: ConfigTool): ToolDefinition {
  return tool as ToolDefinition;
}

/** An action of the config as its full definition: the config checked its shape, `defineAction` its types. */
export function actionDefinition(action: ConfigAction): ActionDefinition {
  return action as unknown as ActionDefinition;
}
