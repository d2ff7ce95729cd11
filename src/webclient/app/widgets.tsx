import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ChartProps } from "./chart.ts";
import type { WidgetItem, WidgetNode } from "../../protocol/items.ts";
import { renderMarkdown } from "./markdown.ts";

/** A widget action (`ActionConfig`, protocol section 6.3). */
export interface WidgetAction {
  type: string;
  payload?: unknown;
  handler?: "server" | "client";
  loadingBehavior?: "auto" | "self" | "container" | "none";
  streaming?: boolean;
}

/** Runs an action for a widget item; resolves when the server has answered. */
export type ActionRunner = (action: WidgetAction, item: WidgetItem) => Promise<void>;

interface RenderContext {
  item: WidgetItem;
  run: (action: WidgetAction, source: HTMLElement | null, behavior: "self" | "container" | "none") => Promise<void>;
  busy: boolean;
}

const COLOR_TOKENS = new Set(["primary", "secondary", "tertiary", "emphasis", "success", "danger", "warning", "info", "discovery", "caution"]);
const CSS_COLOR = /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\))$/i;

function color(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (COLOR_TOKENS.has(value)) return `var(--ck-${value})`;
  if (value.startsWith("alpha-")) return "var(--ck-surface-alt)";
  return CSS_COLOR.test(value) ? value : undefined;
}

function space(value: unknown): string | undefined {
  if (typeof value === "number") return `${value * 4}px`;
  if (typeof value === "string" && /^\d+(\.\d+)?(px|rem|em|%)$/.test(value)) return value;
  return undefined;
}

const ALIGN: Record<string, string> = { start: "flex-start", end: "flex-end", center: "center", stretch: "stretch", baseline: "baseline" };
const JUSTIFY: Record<string, string> = { ...ALIGN, between: "space-between", around: "space-around", evenly: "space-evenly" };

function boxStyle(node: WidgetNode, direction: "row" | "column"): JSX.CSSProperties {
  const style: Record<string, string> = { display: "flex", flexDirection: node.direction === "row" || node.direction === "col" ? (node.direction === "row" ? "row" : "column") : direction };
  const gap = space(node.gap);
  if (gap) style.gap = gap;
  const padding = space(node.padding);
  if (padding) style.padding = padding;
  if (typeof node.align === "string" && ALIGN[node.align]) style.alignItems = ALIGN[node.align]!;
  if (typeof node.justify === "string" && JUSTIFY[node.justify]) style.justifyContent = JUSTIFY[node.justify]!;
  if (node.wrap === "wrap" || node.wrap === true) style.flexWrap = "wrap";
  const background = color(node.background);
  if (background) style.background = background;
  if (node.flex !== undefined) style.flex = String(node.flex);
  return style as JSX.CSSProperties;
}

/** Only our own origin or inline data: a picture from elsewhere would be a request leaving the box. */
function ownUrl(src: unknown): string | undefined {
  if (typeof src !== "string") return undefined;
  try {
    const url = new URL(src, location.href);
    return url.origin === location.origin || url.protocol === "data:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** Sets `payload.a.b = value` for a control named `a.b` (protocol 6.3: dotted names nest). */
function setPath(target: Record<string, unknown>, name: string, value: unknown): void {
  const parts = name.split(".");
  let cursor = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof cursor[part] !== "object" || cursor[part] === null) cursor[part] = {};
    cursor = cursor[part] as Record<string, unknown>;
  }
  cursor[parts.at(-1)!] = value;
}

/** The values of the named controls of the form around `element`, merged into the action's payload. */
function withFormValues(action: WidgetAction, element: HTMLElement | null): WidgetAction {
  const form = element?.closest("form");
  if (!form) return action;
  const payload: Record<string, unknown> = typeof action.payload === "object" && action.payload !== null ? { ...(action.payload as object) } : {};
  for (const control of Array.from(form.elements) as Array<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) {
    if (!control.name) continue;
    if (control instanceof HTMLInputElement && control.type === "checkbox") setPath(payload, control.name, control.checked);
    else if (control instanceof HTMLInputElement && control.type === "radio") {
      if (control.checked) setPath(payload, control.name, control.value);
    } else setPath(payload, control.name, control.value);
  }
  return { ...action, payload };
}

function isAction(value: unknown): value is WidgetAction {
  return typeof value === "object" && value !== null && typeof (value as WidgetAction).type === "string";
}

function Node({ node, ctx }: { node: WidgetNode; ctx: RenderContext }): JSX.Element | null {
  const children = (nodes: unknown): ComponentChildren =>
    Array.isArray(nodes) ? nodes.map((child, i) => <Node key={(child as WidgetNode).key ?? (child as WidgetNode).id ?? i} node={child as WidgetNode} ctx={ctx} />) : null;
  const act = (action: unknown, source: HTMLElement | null, auto: "self" | "container" | "none") => {
    if (!isAction(action)) return;
    const behavior = action.loadingBehavior && action.loadingBehavior !== "auto" ? action.loadingBehavior : auto;
    void ctx.run(withFormValues(action, source), source, behavior);
  };
  switch (node.type) {
    case "Card":
    case "Basic": {
      const body = (
        <>
          {children(node.children)}
          {(node.confirm || node.cancel) && (
            <div class="w-actions">
              {[node.cancel, node.confirm].map((button, i) =>
                button && typeof button === "object" ? (
                  <button
                    type="button"
                    class={i === 1 ? "w-button primary" : "w-button"}
                    disabled={ctx.busy}
                    onClick={(e) => act((button as { action?: unknown }).action, e.currentTarget, "container")}
                  >
                    {text((button as { label?: unknown }).label)}
                  </button>
                ) : null,
              )}
            </div>
          )}
        </>
      );
      const cls = `w-card w-${text(node.size) || "md"}`;
      return node.asForm ? (
        <form class={cls} onSubmit={(e) => e.preventDefault()}>
          {body}
        </form>
      ) : (
        <div class={cls} style={boxStyle(node, "column")}>
          {body}
        </div>
      );
    }
    case "ListView": {
      const items = Array.isArray(node.children) ? node.children : [];
      const limit = typeof node.limit === "number" ? node.limit : items.length;
      return <ul class="w-list">{children(items.slice(0, limit))}</ul>;
    }
    case "ListViewItem":
      return (
        <li class="w-list-item">
          {isAction(node.onClickAction) ? (
            <button type="button" class="w-list-button" style={boxStyle(node, "row")} disabled={ctx.busy} onClick={(e) => act(node.onClickAction, e.currentTarget, "self")}>
              {children(node.children)}
            </button>
          ) : (
            <div style={boxStyle(node, "row")}>{children(node.children)}</div>
          )}
        </li>
      );
    case "Box":
    case "Transition":
      return <div style={boxStyle(node, "column")}>{children(node.children)}</div>;
    case "Row":
      return <div style={{ gap: "8px", ...boxStyle(node, "row"), alignItems: ALIGN[text(node.align)] ?? "center" }}>{children(node.children)}</div>;
    case "Col":
      return <div style={boxStyle(node, "column")}>{children(node.children)}</div>;
    case "Form":
      return (
        <form
          style={boxStyle(node, "column")}
          onSubmit={(e) => {
            e.preventDefault();
            act(node.onSubmitAction, e.currentTarget, "container");
          }}
        >
          {children(node.children)}
        </form>
      );
    case "Spacer":
      return <div class="w-spacer" />;
    case "Divider":
      return <hr class="w-divider" />;
    case "Title":
      return <div class={`w-title w-size-${text(node.size) || "md"}`} style={{ color: color(node.color) }}>{text(node.value)}</div>;
    case "Caption":
      return <div class="w-caption" style={{ color: color(node.color) }}>{text(node.value)}</div>;
    case "Label":
      return <label class="w-label" for={text(node.fieldName) || undefined}>{text(node.value)}</label>;
    case "Text":
      return (
        <p
          class={`w-text w-size-${text(node.size) || "md"}${node.weight === "semibold" || node.weight === "bold" ? " w-strong" : ""}${node.italic ? " w-italic" : ""}${node.lineThrough ? " w-strike" : ""}`}
          style={{ color: color(node.color), textAlign: text(node.textAlign) || undefined }}
        >
          {text(node.value)}
        </p>
      );
    case "Markdown":
      return <div class="w-markdown markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(text(node.value)) }} />;
    case "Badge":
      return <span class={`w-badge w-badge-${text(node.color) || "secondary"}`}>{text(node.label)}</span>;
    case "Icon":
      return null;
    case "Image": {
      const src = ownUrl(node.src);
      const size = typeof node.size === "number" ? `${node.size}px` : undefined;
      return src ? (
        <img class="w-image" src={src} alt={text(node.alt)} style={{ width: size ?? (typeof node.width === "number" ? `${node.width}px` : undefined), height: size }} />
      ) : (
        <span class="w-image-missing">{text(node.alt) || "image"}</span>
      );
    }
    case "Button":
      return (
        <button
          type={node.submit ? "submit" : "button"}
          class={`w-button${node.style === "primary" || node.color === "primary" ? " primary" : ""}${node.block ? " block" : ""}`}
          disabled={ctx.busy || node.disabled === true}
          onClick={(e) => {
            if (node.submit && !isAction(node.onClickAction)) return;
            e.preventDefault();
            act(node.onClickAction, e.currentTarget, "self");
          }}
        >
          {text(node.label)}
        </button>
      );
    case "Input":
      return (
        <input
          class="w-input"
          name={text(node.name)}
          type={["text", "email", "number", "password", "tel", "url"].includes(text(node.inputType)) ? text(node.inputType) : "text"}
          placeholder={text(node.placeholder)}
          defaultValue={text(node.defaultValue)}
          required={node.required === true}
          disabled={node.disabled === true}
          aria-label={text(node.placeholder) || text(node.name)}
        />
      );
    case "Textarea":
      return (
        <textarea
          class="w-input"
          name={text(node.name)}
          placeholder={text(node.placeholder)}
          defaultValue={text(node.defaultValue)}
          rows={typeof node.rows === "number" ? node.rows : 3}
          aria-label={text(node.placeholder) || text(node.name)}
        />
      );
    case "DatePicker":
      return <input class="w-input" type="date" name={text(node.name)} defaultValue={text(node.defaultValue)} aria-label={text(node.placeholder) || text(node.name)} />;
    case "Select": {
      const options = Array.isArray(node.options) ? (node.options as Array<{ value: string; label?: string; disabled?: boolean }>) : [];
      return (
        <select
          class="w-input"
          name={text(node.name)}
          defaultValue={text(node.defaultValue)}
          aria-label={text(node.placeholder) || text(node.name)}
          onChange={(e) => isAction(node.onChangeAction) && act({ ...node.onChangeAction, payload: { ...(node.onChangeAction.payload as object), value: e.currentTarget.value } }, e.currentTarget, "none")}
        >
          {node.placeholder ? <option value="">{text(node.placeholder)}</option> : null}
          {options.map((option) => (
            <option value={option.value} disabled={option.disabled === true}>
              {option.label ?? option.value}
            </option>
          ))}
        </select>
      );
    }
    case "Checkbox":
      return (
        <label class="w-check">
          <input type="checkbox" name={text(node.name)} defaultChecked={node.defaultChecked === true} />
          {text(node.label)}
        </label>
      );
    case "RadioGroup": {
      const options = Array.isArray(node.options) ? (node.options as Array<{ value: string; label?: string }>) : [];
      return (
        <div role="radiogroup" class="w-radios">
          {options.map((option) => (
            <label class="w-check">
              <input type="radio" name={text(node.name)} value={option.value} defaultChecked={node.defaultValue === option.value} />
              {option.label ?? option.value}
            </label>
          ))}
        </div>
      );
    }
    case "Chart":
      return <ChartView node={node} />;
    case "Table":
      return <TableView node={node} ctx={ctx} />;
    default:
      // Components this client does not draw (templates, newer ones) still show their contents.
      return Array.isArray(node.children) ? <div style={boxStyle(node, "column")}>{children(node.children)}</div> : text(node.value) ? <p class="w-text">{text(node.value)}</p> : null;
  }
}

const CELL_ALIGN: Record<string, string> = { start: "left", center: "center", end: "right" };

/** A `Table` widget as a real table: header rows (`header: true`) in its head, cells as `th`/`td`. */
function TableView({ node, ctx }: { node: WidgetNode; ctx: RenderContext }): JSX.Element {
  const rows = (Array.isArray(node.children) ? node.children : []) as WidgetNode[];
  const row = (r: WidgetNode, i: number) => (
    <tr key={r.key ?? r.id ?? i}>
      {((Array.isArray(r.children) ? r.children : []) as WidgetNode[]).map((cell, j) => {
        const Cell = r.header ? "th" : "td";
        return (
          <Cell
            key={cell.key ?? cell.id ?? j}
            {...(r.header ? { scope: "col" } : {})}
            colSpan={typeof cell.colSpan === "number" ? cell.colSpan : undefined}
            rowSpan={typeof cell.rowSpan === "number" ? cell.rowSpan : undefined}
            style={{ textAlign: CELL_ALIGN[text(cell.align)], verticalAlign: text(cell.vAlign) === "end" ? "bottom" : text(cell.vAlign) === "center" ? "middle" : undefined, width: space(cell.width) ?? (typeof cell.width === "number" ? `${cell.width}px` : undefined), padding: space(cell.padding) }}
          >
            {Array.isArray(cell.children) ? (cell.children as WidgetNode[]).map((child, k) => <Node key={child.key ?? child.id ?? k} node={child} ctx={ctx} />) : text(cell.value)}
          </Cell>
        );
      })}
    </tr>
  );
  const headerCount = rows.findIndex((r) => !r.header);
  const head = rows.slice(0, headerCount < 0 ? rows.length : headerCount);
  const body = rows.slice(head.length);
  return (
    <div class="w-table" role="region" aria-label="Table" tabIndex={0}>
      <table>
        {head.length > 0 && <thead>{head.map(row)}</thead>}
        <tbody>{body.map((r, i) => row(r, head.length + i))}</tbody>
      </table>
    </div>
  );
}

/**
 * A `Chart` widget, drawn by uPlot. The chart code is its own file, fetched with the first chart
 * (our origin), so pages without charts do not load it. Screen readers get the data as a table.
 */
function ChartView({ node }: { node: WidgetNode }): JSX.Element {
  const canvas = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const props = node as unknown as ChartProps;
  const data = Array.isArray(props.data) ? props.data : [];
  const series = Array.isArray(props.series) ? props.series.filter((s) => typeof s?.dataKey === "string") : [];
  const xKey = typeof props.xAxis === "string" ? props.xAxis : typeof props.xAxis?.dataKey === "string" ? props.xAxis.dataKey : "";
  const xLabels = typeof props.xAxis === "object" && props.xAxis?.labels ? props.xAxis.labels : {};
  const key = JSON.stringify([data, series, props.xAxis, props.height, props.showLegend, props.showYAxis]);
  useEffect(() => {
    let undraw: (() => void) | undefined;
    let cancelled = false;
    import("./chart.ts").then(
      ({ drawChart }) => {
        if (!cancelled && canvas.current) undraw = drawChart(canvas.current, { ...props, data, series });
      },
      () => setFailed(true),
    );
    return () => {
      cancelled = true;
      undraw?.();
    };
  }, [key]);
  const label = `Chart of ${series.map((s) => s.label ?? s.dataKey).join(", ") || "no series"} by ${xKey}`;
  return (
    <figure class="w-chart" aria-label={label}>
      <div ref={canvas} class="w-chart-canvas" aria-hidden="true" />
      {failed && <p class="w-caption">The chart could not be drawn.</p>}
      <table class="ck-visually-hidden">
        <caption>{label}</caption>
        <thead>
          <tr>
            <th scope="col">{xKey}</th>
            {series.map((s) => (
              <th scope="col">{s.label ?? s.dataKey}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.map((row) => (
            <tr>
              <th scope="row">{xLabels[text(row[xKey])] ?? text(row[xKey])}</th>
              {series.map((s) => (
                <td>{text(row[s.dataKey])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** A widget item: its tree drawn with the common components; actions go through `run`. */
export function WidgetView({ item, run }: { item: WidgetItem; run: ActionRunner }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const ctx: RenderContext = {
    item,
    busy,
    async run(action, source, behavior) {
      const self = behavior === "self" && source instanceof HTMLButtonElement ? source : null;
      if (behavior === "container") setBusy(true);
      if (self) self.disabled = true;
      try {
        await run(action, item);
      } finally {
        if (behavior === "container") setBusy(false);
        if (self) self.disabled = false;
      }
    },
  };
  return (
    <div class="widget" aria-busy={busy}>
      <Node node={item.widget} ctx={ctx} />
    </div>
  );
}
