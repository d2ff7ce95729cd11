import type { ThreadItemUpdate } from "./events.ts";
import type { ThreadItem, WidgetNode } from "./items.ts";

/**
 * Gives the fold an object it may change: the object itself, to fold in place (the server's
 * pipeline, which owns its copy of each pending item and folds every delta), or a shallow copy
 * (the web client, whose earlier states must stay as they were: only the path the update touches
 * is copied, everything else is shared).
 */
export type Own = <T extends object>(value: T) => T;

export const inPlace: Own = (value) => value;

export const copyOnWrite: Own = (value) => (Array.isArray(value) ? value.slice() : { ...value }) as typeof value;

/**
 * Applies a `thread.item.updated` payload (protocol section 4.1) to the item it names, the one
 * way both ends of the stream do it. Answers the changed item (the item itself when `own` is
 * `inPlace`); an update for another kind of item leaves it as it is.
 */
export function applyUpdate(item: ThreadItem, update: ThreadItemUpdate, own: Own): ThreadItem {
  switch (update.type) {
    case "assistant_message.content_part.added":
    case "assistant_message.content_part.done":
    case "assistant_message.content_part.text_delta":
    case "assistant_message.content_part.annotation_added": {
      if (item.type !== "assistant_message") return item;
      const next = own(item);
      const content = (next.content = own(item.content));
      const index = update.content_index;
      while (content.length <= index) content.push({ type: "output_text", text: "", annotations: [] });
      if (update.type === "assistant_message.content_part.text_delta") {
        const part = (content[index] = own(content[index]!));
        part.text += update.delta;
      } else if (update.type === "assistant_message.content_part.annotation_added") {
        const part = (content[index] = own(content[index]!));
        (part.annotations = own(part.annotations)).splice(update.annotation_index, 0, update.annotation);
      } else {
        // A part of the item's own: later deltas change it, never the event that brought it.
        content[index] = { ...update.content, annotations: update.content.annotations.slice() };
      }
      return next;
    }
    case "widget.root.updated": {
      if (item.type !== "widget") return item;
      const next = own(item);
      next.widget = update.widget;
      return next;
    }
    case "widget.component.updated":
    case "widget.streaming_text.value_delta": {
      if (item.type !== "widget") return item;
      const widget =
        update.type === "widget.component.updated"
          ? changeNode(item.widget, update.component_id, () => update.component, own)
          : changeNode(
              item.widget,
              update.component_id,
              (node) => {
                const next = own(node);
                next.value = `${typeof node.value === "string" ? node.value : ""}${update.delta}`;
                next.streaming = !update.done;
                return next;
              },
              own,
            );
      if (widget === item.widget) return item;
      const next = own(item);
      next.widget = widget;
      return next;
    }
    case "workflow.task.added":
    case "workflow.task.updated": {
      if (item.type !== "workflow") return item;
      const next = own(item);
      const workflow = (next.workflow = own(item.workflow));
      const tasks = (workflow.tasks = own(workflow.tasks));
      if (update.type === "workflow.task.added") tasks.push(update.task);
      else tasks[update.task_index] = update.task;
      return next;
    }
    case "generated_image.updated": {
      if (item.type !== "generated_image") return item;
      const next = own(item);
      next.image = update.image;
      return next;
    }
  }
}

/**
 * The tree with the node of id `id` replaced by `change(node)`; the nodes on the path to it are
 * given by `own`, the rest are left as they are. Answers `node` itself when nothing was replaced.
 */
function changeNode(node: WidgetNode, id: string, change: (node: WidgetNode) => WidgetNode, own: Own): WidgetNode {
  if (node.id === id) return change(node);
  const children = node.children;
  if (!Array.isArray(children)) return node;
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    const changed = changeNode(child, id, change, own);
    if (changed === child) continue;
    const next = own(node);
    (next.children = own(children))[i] = changed;
    return next;
  }
  return node;
}
