import { ChatkitError } from "../core/errors.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { HiddenContextItem, ThreadItem } from "../protocol/items.ts";
import type { RequestParams } from "../protocol/requests.ts";
import { monotonicNow, toIso } from "../core/clock.ts";
import { newId } from "../core/ids.ts";
import type { ThreadRow } from "../store/index.ts";
import { agentOfThread, requireThread, type HandlerContext } from "./context.ts";
import { answer, assertOpen } from "./conversation.ts";
import { errorOnly, ResponderError } from "./pipeline.ts";

type ActionParams = RequestParams<"threads.custom_action">;

/**
 * Records a widget action as hidden context, so the model sees what the user did (protocol
 * section 6.3). The payload is untrusted: it is stored as data for the model, never executed.
 */
async function recordAction(hc: HandlerContext, thread: ThreadRow, params: ActionParams, widget: ThreadItem | undefined): Promise<void> {
  const note: HiddenContextItem = {
    id: newId("message"),
    thread_id: thread.id,
    created_at: toIso(monotonicNow()),
    type: "hidden_context_item",
    content: {
      event: "widget_action",
      action: { type: params.action.type, payload: params.action.payload ?? null },
      ...(widget ? { widget_item_id: widget.id } : {}),
    },
  };
  await hc.store.items.add(hc.owner, note);
}

/** The widget an action came from; undefined when none was named, null when it is not a widget. */
async function senderWidget(hc: HandlerContext, thread: ThreadRow, itemId: string | null | undefined): Promise<ThreadItem | undefined | null> {
  if (!itemId) return undefined;
  const item = await hc.store.items.get(hc.owner, thread.id, itemId);
  return item?.type === "widget" ? item : null;
}

/** A widget or client action: recorded for the model, which then answers (streamed). */
export async function customAction(hc: HandlerContext, params: ActionParams): Promise<AsyncIterable<ThreadStreamEvent>> {
  const thread = await requireThread(hc, params.thread_id);
  const widget = await senderWidget(hc, thread, params.item_id);
  if (widget === null) return errorOnly(new ResponderError("action_without_widget"));
  try {
    assertOpen(thread);
  } catch (error) {
    return errorOnly(error as ResponderError);
  }
  await recordAction(hc, thread, params, widget);
  return answer(hc, thread, agentOfThread(hc, thread).model, []);
}

/** A non-streaming widget action (`streaming: false`): recorded for the next turn, nothing to update. */
export async function syncCustomAction(hc: HandlerContext, params: RequestParams<"threads.sync_custom_action">): Promise<{ updated_item?: ThreadItem }> {
  const thread = await requireThread(hc, params.thread_id);
  const widget = await senderWidget(hc, thread, params.item_id);
  if (widget === null) throw new ChatkitError(404, "item_not_found");
  await recordAction(hc, thread, params, widget);
  return {};
}
