import { z } from "zod";

/**
 * Request schemas (protocol reference, section 2). The body is parsed once at the edge:
 * first the envelope, so an unknown `type` is told apart from bad params, then the params.
 */

export const envelopeSchema = z.object({
  type: z.string().min(1),
  // Checked as an object by the request type's own schema next: not walked twice.
  params: z.unknown().transform((params) => params ?? {}),
  metadata: z.record(z.string(), z.unknown()).nullish().transform((metadata) => metadata ?? {}),
});

const id = z.string().min(1).max(200);
const limit = z.number().int().min(1).max(1000).nullish();
const order = z.enum(["asc", "desc"]).nullish().transform((value) => value ?? "desc");
const after = id.nullish();

export const userMessageContentSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("input_text"), text: z.string().max(200_000) }),
  z.object({
    type: z.literal("input_tag"),
    id: z.string(),
    text: z.string(),
    data: z.record(z.string(), z.unknown()).default({}),
    group: z.string().nullish(),
    interactive: z.boolean().default(false),
  }),
]);

export const inferenceOptionsSchema = z.object({
  tool_choice: z.object({ id: z.string() }).nullish(),
  model: z.string().nullish(),
});

export const userMessageInputSchema = z.object({
  content: z.array(userMessageContentSchema).max(100),
  attachments: z.array(id).max(50).default([]),
  quoted_text: z.string().max(200_000).nullish(),
  inference_options: inferenceOptionsSchema.nullish().transform((options) => options ?? {}),
});

export const actionSchema = z.object({
  type: z.string().min(1),
  payload: z.unknown().optional(),
});

const customActionParams = z.object({ thread_id: id, item_id: id.nullish(), action: actionSchema });

const structuredInputAnswerSchema = z.object({
  values: z.array(z.string()).default([]),
  skipped: z.boolean().default(false),
});

/** Every request type of the protocol and its params. */
export const requestParamSchemas = {
  "threads.create": z.object({ input: userMessageInputSchema }),
  "threads.add_user_message": z.object({ thread_id: id, input: userMessageInputSchema }),
  "threads.add_client_tool_output": z.object({ thread_id: id, result: z.unknown() }),
  "threads.add_structured_input": z.object({
    thread_id: id,
    item_id: id,
    input: z.object({
      status: z.enum(["answered", "skipped"]).default("answered"),
      answers: z.record(z.string(), structuredInputAnswerSchema).default({}),
    }),
  }),
  "threads.retry_after_item": z.object({ thread_id: id, item_id: id }),
  "threads.custom_action": customActionParams,
  "threads.sync_custom_action": customActionParams,
  "threads.get_by_id": z.object({ thread_id: id }),
  "threads.list": z.object({ limit, order, after }),
  "threads.update": z.object({ thread_id: id, title: z.string().max(500) }),
  "threads.delete": z.object({ thread_id: id }),
  "items.list": z.object({ thread_id: id, limit, order, after }),
  "items.feedback": z.object({ thread_id: id, item_ids: z.array(id).min(1).max(100), kind: z.enum(["positive", "negative"]) }),
  "attachments.create": z.object({ name: z.string().max(10_000), size: z.number().int().min(0), mime_type: z.string().min(1).max(255) }),
  "attachments.delete": z.object({ attachment_id: id }),
  "input.transcribe": z.object({ audio_base64: z.string().min(1), mime_type: z.string().min(1).max(255) }),
} as const;

export type RequestType = keyof typeof requestParamSchemas;
export type RequestParams<T extends RequestType> = z.output<(typeof requestParamSchemas)[T]>;
export type UserMessageInput = z.output<typeof userMessageInputSchema>;

/** Requests answered with an SSE stream; the rest answer plain JSON (section 1). */
export const STREAMING_REQUEST_TYPES = new Set<RequestType>([
  "threads.create",
  "threads.add_user_message",
  "threads.add_client_tool_output",
  "threads.add_structured_input",
  "threads.retry_after_item",
  "threads.custom_action",
]);

export function isRequestType(type: string): type is RequestType {
  return Object.hasOwn(requestParamSchemas, type);
}

export const DEFAULT_PAGE_SIZE = 20;
