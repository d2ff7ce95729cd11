import { chatRefusal, ChatkitError } from "../core/errors.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { HiddenContextItem, ThreadItem, WidgetItem, WidgetNode } from "../protocol/items.ts";
import type { RequestParams } from "../protocol/requests.ts";
import type { ThreadRow } from "../store/index.ts";
import { drainWhile } from "../tools/channel.ts";
import { finishOpenWidgets, HandlerChannel, streamingContext } from "../tools/context.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS, withTimeout } from "../tools/run.ts";
import { actionDefinition, type ActionContext, type ActionDefinition } from "../tools/define.ts";
import { agentOfThread, requireThread, type HandlerContext } from "./context.ts";
import { assertOpen, modelTurn } from "./conversation.ts";
import { runPipeline } from "./pipeline.ts";
import { newAssistantMessage, newHiddenContext } from "../protocol/new-items.ts";

type ActionParams = RequestParams<"threads.custom_action">;

/**
 * A widget action as hidden context, so the model sees what the user did (protocol section
 * 6.3). The payload is untrusted: it is stored as data for the model, never executed.
 */
function actionNote(thread: ThreadRow, params: ActionParams, widget: ThreadItem | undefined): HiddenContextItem {
  return newHiddenContext(thread.id, {
    event: "widget_action",
    action: { type: params.action.type, payload: params.action.payload ?? null },
    ...(widget ? { widget_item_id: widget.id } : {}),
  });
}

interface PreparedAction {
  thread: ThreadRow;
  sender: WidgetItem | undefined;
  definition: ActionDefinition;
  payload: unknown;
}

/**
 * Everything an action needs, checked before it runs: the thread (404), the widget it came from
 * (404 when missing; refused when not a widget), an open thread, a handler for its type, and a
 * payload its schema accepts. Refusals reach a streaming client as an error event.
 */
async function prepareAction(hc: HandlerContext, params: ActionParams): Promise<PreparedAction> {
  const thread = await requireThread(hc, params.thread_id);
  let sender: WidgetItem | undefined;
  if (params.item_id) {
    const item = await hc.store.items.get(hc.owner, thread.id, params.item_id);
    if (!item) throw new ChatkitError(404, "item_not_found");
    if (item.type !== "widget") throw chatRefusal("action_without_widget", 400);
    sender = item;
  }
  assertOpen(thread);
  const actions = agentOfThread(hc, thread).actions;
  // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
  const definition = Object.hasOwn(actions, params.action.type) ? actionDefinition(actions[params.action.type]!) : undefined;
  if (!definition) throw chatRefusal("action_not_handled", 422);
  const parsed = definition.payload ? definition.payload.safeParse(params.action.payload ?? {}) : { success: true as const, data: params.action.payload ?? null };
  if (!parsed.success) throw chatRefusal("action_payload_invalid", 400);
  return { thread, sender, definition, payload: parsed.data };
}

interface ActionRun {
  context: ActionContext;
  channel: HandlerChannel;
  /** The sender as the handler left it, when it changed it. */
  updatedSender(): WidgetItem | undefined;
  wantsModel(): boolean;
}

function actionRun(hc: HandlerContext, prepared: PreparedAction, sync: boolean): ActionRun {
  const { thread, sender } = prepared;
  const channel = new HandlerChannel();
  let updated: WidgetItem | undefined;
  let respond = false;
  const base = streamingContext(
    {
      user: { id: hc.user.id, email: hc.user.email },
      thread: { id: thread.id, title: thread.title },
      agent: { id: thread.agent_id, name: agentOfThread(hc, thread).name },
      signal: hc.signal,
    },
    channel,
  );
  const context: ActionContext = {
    ...base,
    sender,
    sync,
    updateSender(root, options = {}) {
      if (!sender) throw new Error("this action did not come from a widget, so there is none to update");
      const copyText = options.copyText ?? updated?.copy_text ?? sender.copy_text;
      updated = { ...sender, widget: root as WidgetNode, ...(copyText ? { copy_text: copyText } : {}) };
      channel.push({ type: "thread.item.replaced", item: updated });
    },
    say(text) {
      channel.push({ type: "thread.item.done", item: newAssistantMessage(thread.id, [{ type: "output_text", text, annotations: [] }]) });
    },
    respond() {
      respond = true;
    },
  };
  return { context, channel, updatedSender: () => updated, wantsModel: () => respond };
}

/** Runs the handler; its unexpected failures are logged and reach the user as one plain error. */
async function runHandler(hc: HandlerContext, prepared: PreparedAction, params: ActionParams, run: ActionRun): Promise<void> {
  try {
    const { definition } = prepared;
    const action = { type: params.action.type, payload: prepared.payload as never };
    await withTimeout((signal) => definition.handler(action, { ...run.context, signal }), hc.signal, definition.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS);
    finishOpenWidgets(run.channel);
  } catch (error) {
    if (error instanceof ChatkitError || hc.signal.aborted) throw error;
    hc.log.error(`action "${params.action.type}" failed in thread ${prepared.thread.id}`, error);
    throw new ChatkitError(500, "action_failed");
  }
}

/**
 * A widget or client action (`threads.custom_action`): the agent's handler for its type runs
 * and streams what it does (the sender widget replaced, messages, new widgets, effects); when
 * it asks, the model answers after it, told of the action as hidden context. Actions the model
 * does not answer are not recorded for it (a handler can `addHiddenContext` itself): forty
 * clicks on a widget must not push the conversation out of the model's history.
 */
export async function customAction(hc: HandlerContext, params: ActionParams): Promise<AsyncIterable<ThreadStreamEvent>> {
  const prepared = await prepareAction(hc, params);
  const run = actionRun(hc, prepared, false);
  return runPipeline({
    hc,
    thread: prepared.thread,
    preface: [],
    responder: async function* (state) {
      yield* drainWhile(run.channel, runHandler(hc, prepared, params, run), hc.signal);
      if (!run.wantsModel()) return;
      // The model answers because of this action, so it is told what the user did.
      yield { type: "thread.item.done", item: actionNote(prepared.thread, params, prepared.sender) };
      yield* modelTurn(hc, prepared.thread, state, { model: agentOfThread(hc, prepared.thread).model });
    },
  });
}

/**
 * `threads.sync_custom_action` (an action with `streaming: false`): the same handler, answered
 * as JSON with the sender widget as the handler left it. Nothing is streamed, so items the
 * handler adds are stored for the next load, and no model turn runs. It does not wait for or
 * block a response streaming in the same thread, so a widget's buttons work mid-answer.
 */
export async function syncCustomAction(hc: HandlerContext, params: RequestParams<"threads.sync_custom_action">): Promise<{ updated_item?: ThreadItem }> {
  const prepared = await prepareAction(hc, params);
  const run = actionRun(hc, prepared, true);
  for await (const event of drainWhile(run.channel, runHandler(hc, prepared, params, run), hc.signal)) {
    if (event.type === "thread.item.done" || event.type === "thread.item.replaced") await hc.store.items.save(hc.owner, event.item);
  }
  if (run.wantsModel()) hc.log.info(`action "${params.action.type}" asked for a model answer, which a sync action cannot stream; ignored`);
  const updated = run.updatedSender();
  return updated ? { updated_item: updated } : {};
}

