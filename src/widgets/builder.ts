import type { Widgets } from "@openai/chatkit";

/**
 * A typed builder for ChatKit widgets. The component types are the official ones from the
 * `@openai/chatkit` package (types only), so a config author's editor completes every prop and
 * a typo fails the type check instead of rendering nothing.
 *
 * @example
 * widget.Card({ children: [widget.Title({ value: "Order 42" }), widget.Text({ id: "status", value: "Shipped" })] })
 */
type AnyComponent = Widgets.WidgetRoot | Widgets.WidgetComponent | Widgets.ListViewItem;
export type WidgetKind = AnyComponent["type"];
export type WidgetOf<K extends WidgetKind> = Extract<AnyComponent, { type: K }>;
export type WidgetRoot = Widgets.WidgetRoot;
export type WidgetComponent = Widgets.WidgetComponent;

type Props<K extends WidgetKind> = WidgetOf<K> extends infer C ? (C extends unknown ? Omit<C, "type"> : never) : never;

function component<K extends WidgetKind>(type: K): (props: Props<K>) => WidgetOf<K> {
  return (props) => ({ type, ...props }) as WidgetOf<K>;
}

export const widget = {
  Card: component("Card"),
  ListView: component("ListView"),
  ListViewItem: component("ListViewItem"),
  Basic: component("Basic"),
  Box: component("Box"),
  Row: component("Row"),
  Col: component("Col"),
  Form: component("Form"),
  Spacer: component("Spacer"),
  Divider: component("Divider"),
  Transition: component("Transition"),
  Title: component("Title"),
  Caption: component("Caption"),
  Text: component("Text"),
  Markdown: component("Markdown"),
  Label: component("Label"),
  Badge: component("Badge"),
  Icon: component("Icon"),
  Image: component("Image"),
  Button: component("Button"),
  Input: component("Input"),
  Textarea: component("Textarea"),
  Select: component("Select"),
  DatePicker: component("DatePicker"),
  Checkbox: component("Checkbox"),
  RadioGroup: component("RadioGroup"),
  Table: component("Table"),
  TableRow: component("Table.Row"),
  TableCell: component("Table.Cell"),
};

/** The official type says `{type, payload}`; the protocol adds how the client dispatches it (section 6.3). */
export type WidgetAction = { type: string; payload?: Record<string, unknown> };
export interface ActionOptions {
  /** `server` (default): sent to this server as `threads.custom_action`; `client`: to the page's `widgets.onAction`. */
  handler?: "server" | "client";
  /** `auto` (default), `self`, `container` or `none`: what shows a spinner while the action runs. */
  loadingBehavior?: "auto" | "self" | "container" | "none";
  /** false: sent as `threads.sync_custom_action` and answered with JSON, usable while an answer streams. */
  streaming?: boolean;
}

/**
 * An `ActionConfig` for `onClickAction`, `onSubmitAction` and friends.
 *
 * @example
 * widget.Button({ label: "Roll again", onClickAction: action("dice.roll", { sides: 6 }, { streaming: false }) })
 */
export function action(type: string, payload: Record<string, unknown> = {}, options: ActionOptions = {}): WidgetAction {
  return { type, payload, ...options } as WidgetAction;
}
