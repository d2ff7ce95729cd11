import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { WidgetNode } from "../protocol/items.ts";
import type { WidgetRoot } from "../widgets/builder.ts";
import { diffWidget, replaceComponent } from "../widgets/diff.ts";
import { EventChannel } from "./channel.ts";
import type { RunScope, StreamingContext, WidgetHandle } from "./define.ts";
import { newHiddenContext, newWidgetItem } from "../protocol/new-items.ts";


/** The events handlers (tools, actions) send while they run, and the widgets they started and have not marked done. */
export class HandlerChannel extends EventChannel<ThreadStreamEvent> {
  readonly openWidgets = new Set<WidgetHandle>();
}

/**
 * Marks done every widget started on `channel` that its handler left open: the client was shown
 * it, so it is finished (and stored) instead of staying pending and vanishing on reload.
 */
export function finishOpenWidgets(channel: HandlerChannel): void {
  for (const handle of [...channel.openWidgets]) handle.done();
}

/** The helpers every handler (tool or action) gets, each turned into stream events on `channel`. */
export function streamingContext(scope: RunScope, channel: HandlerChannel): StreamingContext {
  const emit = (event: ThreadStreamEvent) => channel.push(event);
  const open = channel.openWidgets;

  function startWidget(root: WidgetRoot, options: { copyText?: string } = {}): WidgetHandle {
    const item = newWidgetItem(scope.thread.id, root as WidgetNode, options.copyText);
    let current = item.widget;
    let finished = false;
    emit({ type: "thread.item.added", item });
    const handle: WidgetHandle = {
      itemId: item.id,
      update(next) {
        if (finished) throw new Error(`widget ${item.id} is already done`);
        for (const update of diffWidget(current, next as WidgetNode)) emit({ type: "thread.item.updated", item_id: item.id, update });
        current = next as WidgetNode;
      },
      updateComponent(componentId, component) {
        if (finished) throw new Error(`widget ${item.id} is already done`);
        const next = replaceComponent(current, componentId, component as WidgetNode);
        if (next === current) throw new Error(`widget ${item.id} has no component with id "${componentId}"`);
        current = next;
        emit({ type: "thread.item.updated", item_id: item.id, update: { type: "widget.component.updated", component_id: componentId, component: component as WidgetNode } });
      },
      done() {
        if (finished) return;
        finished = true;
        open.delete(handle);
        emit({ type: "thread.item.done", item: { ...item, widget: current } });
      },
    };
    open.add(handle);
    return handle;
  }

  return {
    ...scope,
    emit,
    progress: (text, icon) => emit({ type: "progress_update", text, ...(icon ? { icon } : {}) }),
    effect: (name, data = {}) => emit({ type: "client_effect", name, data }),
    notice: (message, options = {}) => emit({ type: "notice", level: options.level ?? "info", message, ...(options.title ? { title: options.title } : {}) }),
    addHiddenContext(content) {
      emit({ type: "thread.item.done", item: newHiddenContext(scope.thread.id, content) });
    },
    startWidget,
    async widget(root, options = {}) {
      if (!(Symbol.asyncIterator in (root as object))) {
        const item = newWidgetItem(scope.thread.id, root as WidgetNode, options.copyText);
        emit({ type: "thread.item.done", item });
        return item.id;
      }
      let handle: WidgetHandle | undefined;
      for await (const next of root as AsyncIterable<WidgetRoot>) {
        if (!handle) handle = startWidget(next, options);
        else handle.update(next);
      }
      if (!handle) throw new Error("a streamed widget must yield at least one root");
      handle.done();
      return handle.itemId;
    },
  };
}
