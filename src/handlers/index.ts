import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { RequestParams, RequestType } from "../protocol/requests.ts";
import type { HandlerContext } from "./context.ts";
import { createAttachment, deleteAttachment } from "./attachments.ts";
import { customAction, syncCustomAction } from "./actions.ts";
import { addClientToolOutput, addStructuredInput, addUserMessage, createThread, retryAfterItem } from "./conversation.ts";
import { addFeedback, listItems } from "./items.ts";
import { deleteThread, getThread, listThreads, updateThread } from "./threads.ts";
import { transcribe } from "./transcribe.ts";

/** Answers plain JSON. */
export interface JsonRoute<T extends RequestType> {
  kind: "json";
  handle: (hc: HandlerContext, params: RequestParams<T>) => Promise<unknown>;
}

/**
 * Answers an SSE stream. `handle` resolves once the request is known to be valid (a missing
 * thread is a 404 before any byte is streamed), then yields the events.
 */
export interface StreamRoute<T extends RequestType> {
  kind: "stream";
  handle: (hc: HandlerContext, params: RequestParams<T>) => Promise<AsyncIterable<ThreadStreamEvent>>;
}

export type Route<T extends RequestType> = JsonRoute<T> | StreamRoute<T>;
export type RouteTable = { [T in RequestType]?: Route<T> };

const json = <T extends RequestType>(handle: JsonRoute<T>["handle"]): JsonRoute<T> => ({ kind: "json", handle });
const stream = <T extends RequestType>(handle: StreamRoute<T>["handle"]): StreamRoute<T> => ({ kind: "stream", handle });

/** One entry per request type this server answers. */
export const routes: RouteTable = {
  "threads.create": stream(createThread),
  "threads.add_user_message": stream(addUserMessage),
  "threads.retry_after_item": stream(retryAfterItem),
  "threads.add_client_tool_output": stream(addClientToolOutput),
  "threads.add_structured_input": stream(addStructuredInput),
  "threads.custom_action": stream(customAction),
  "threads.sync_custom_action": json(syncCustomAction),
  "threads.get_by_id": json(getThread),
  "threads.list": json(listThreads),
  "threads.update": json(updateThread),
  "threads.delete": json(deleteThread),
  "items.list": json(listItems),
  "items.feedback": json(addFeedback),
  "attachments.create": json(createAttachment),
  "attachments.delete": json(deleteAttachment),
  "input.transcribe": json(transcribe),
};
