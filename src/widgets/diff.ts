import type { ThreadItemUpdate } from "../protocol/events.ts";
import type { WidgetNode } from "../protocol/items.ts";

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as Node).type === "string";
const isStreamingText = (node: Node) => (node.type === "Text" || node.type === "Markdown") && typeof node.value === "string";

function sameValue(before: unknown, after: unknown): boolean {
  if (Array.isArray(before) && Array.isArray(after)) return before.length === after.length && before.every((value, i) => !needsFullReplace(value, after[i]));
  if (isNode(before) && isNode(after)) return !needsFullReplace(before, after);
  if (typeof before === "object" && before !== null && typeof after === "object" && after !== null) {
    return JSON.stringify(before) === JSON.stringify(after);
  }
  return before === after;
}

/** True when anything but a growing Text/Markdown value changed (chatkit-python's `full_replace`). */
function needsFullReplace(before: unknown, after: unknown): boolean {
  if (!isNode(before) || !isNode(after)) return !sameValue(before, after);
  if (before.type !== after.type || before.id !== after.id || before.key !== after.key) return true;
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (field === "value" && isStreamingText(before) && isStreamingText(after) && (after.value as string).startsWith(before.value as string)) continue;
    if (!sameValue(before[field], after[field])) return true;
  }
  return false;
}

function streamingTextNodes(root: Node): Map<string, Node> {
  const found = new Map<string, Node>();
  const visit = (node: Node) => {
    if (isStreamingText(node) && typeof node.id === "string") found.set(node.id, node);
    for (const child of Array.isArray(node.children) ? node.children : []) if (isNode(child)) visit(child);
  };
  visit(root);
  return found;
}

/**
 * The updates that turn `before` into `after`, as chatkit-python's `diff_widget` computes them:
 * text that only grew in a Text or Markdown node with an `id` is sent as
 * `widget.streaming_text.value_delta`; any other change sends the whole tree as
 * `widget.root.updated`. An unchanged widget yields nothing.
 */
export function diffWidget(before: WidgetNode, after: WidgetNode): ThreadItemUpdate[] {
  if (needsFullReplace(before, after)) return [{ type: "widget.root.updated", widget: after }];
  const beforeNodes = streamingTextNodes(before);
  const updates: ThreadItemUpdate[] = [];
  for (const [id, node] of streamingTextNodes(after)) {
    const previous = (beforeNodes.get(id)?.value as string | undefined) ?? "";
    const value = node.value as string;
    if (value !== previous) {
      updates.push({ type: "widget.streaming_text.value_delta", component_id: id, delta: value.slice(previous.length), done: !node.streaming });
    }
  }
  return updates;
}

/**
 * Replaces the component with `id` in a widget tree. The tree is copied along the changed path;
 * when no component has that id, the same tree comes back.
 */
export function replaceComponent(root: WidgetNode, id: string, component: WidgetNode): WidgetNode {
  if (root.id === id) return component;
  if (!Array.isArray(root.children)) return root;
  let changed = false;
  const children = root.children.map((child) => {
    const next = isNode(child) ? replaceComponent(child as WidgetNode, id, component) : child;
    if (next !== child) changed = true;
    return next;
  });
  return changed ? { ...root, children } : root;
}
