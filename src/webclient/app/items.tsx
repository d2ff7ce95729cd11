import { Icon } from "./icons.tsx";
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { Annotation, Attachment, Task, ThreadItem, WidgetItem } from "../../protocol/items.ts";
import { copyText } from "./clipboard.ts";
import { renderMarkdown } from "./markdown.ts";
import { toolCallsSummary } from "../../protocol/workflow-summary.ts";
import { WidgetView, type WidgetAction } from "./widgets.tsx";

interface ItemProps {
  item: ThreadItem;
  streaming: boolean;
  /** The user stopped this answer before it finished. */
  stopped: boolean;
  /** undefined: feedback buttons off; null: none given yet. */
  feedback: "positive" | "negative" | null | undefined;
  onFeedback: (kind: "positive" | "negative") => void;
  onRetry: (() => void) | undefined;
  onAction: (action: WidgetAction, item: WidgetItem) => Promise<void>;
  onStructuredInput: (itemId: string, answers: Record<string, { values: string[]; skipped: boolean }>, skipped: boolean) => Promise<boolean>;
}

function AttachmentView({ attachment }: { attachment: Attachment }): JSX.Element {
  const href = `${attachmentsBase()}/${encodeURIComponent(attachment.id)}`;
  return attachment.type === "image" ? (
    <a class="ck-attachment image" href={href} target="_blank" rel="noopener noreferrer">
      <img src={attachment.preview_url} alt={attachment.name} loading="lazy" />
    </a>
  ) : (
    <a class="ck-attachment file" href={href} target="_blank" rel="noopener noreferrer" download={attachment.name}>
      <Icon name="file" /> {attachment.name}
    </a>
  );
}

/** `/chatkit/attachments` beside the page's `api.url`. */
let base: string | undefined;
export function setAttachmentsBase(apiUrl: string): void {
  const [path = ""] = apiUrl.split("?", 1);
  base = `${path.replace(/\/+$/, "")}/attachments`;
}
function attachmentsBase(): string {
  return base ?? "/chatkit/attachments";
}

function Sources({ annotations }: { annotations: Annotation[] }): JSX.Element | null {
  const urls = annotations.map((a) => a.source).filter((s) => s.type === "url" || s.type === "file");
  if (urls.length === 0) return null;
  return (
    <ol class="ck-sources">
      {urls.map((source) => (
        <li>
          {source.type === "url" ? (
            <a href={source.url} target="_blank" rel="noopener noreferrer nofollow">
              {source.title || source.url}
            </a>
          ) : (
            <span>{source.title || source.filename}</span>
          )}
        </li>
      ))}
    </ol>
  );
}

function TaskView({ task }: { task: Task }): JSX.Element {
  const title = task.title ?? (task.type === "web_search" ? task.title_query ?? "Searching the web" : task.type === "thought" ? "Thought" : task.type);
  return (
    <div class={`ck-task ck-task-${task.status_indicator}`}>
      <span class="ck-task-state" aria-hidden="true">
        {task.status_indicator === "loading" ? "◌" : task.status_indicator === "complete" ? "✓" : "•"}
      </span>
      <div>
        <div class="ck-task-title">{title}</div>
        {(task.type === "thought" || task.type === "custom") && task.content && <div class="markdown ck-task-content" dangerouslySetInnerHTML={{ __html: renderMarkdown(task.content) }} />}
        {task.type === "web_search" && task.queries.length > 0 && <div class="ck-muted">{task.queries.join(" · ")}</div>}
        {(task.type === "web_search" || task.type === "file") && task.sources.length > 0 && (
          <Sources annotations={task.sources.map((source) => ({ type: "annotation", source }) as Annotation)} />
        )}
      </div>
    </div>
  );
}

function StructuredInputView({ item, onSubmit }: { item: Extract<ThreadItem, { type: "structured_input" }>; onSubmit: ItemProps["onStructuredInput"] }): JSX.Element {
  const [sending, setSending] = useState(false);
  if (item.status !== "pending") {
    return (
      <div class="ck-structured done">
        {item.inputs.map((input) => (
          <p>
            <strong>{input.question}</strong> {input.answer?.skipped ? <em>skipped</em> : input.answer?.values.join(", ")}
          </p>
        ))}
      </div>
    );
  }
  const submit = async (form: HTMLFormElement, skipped: boolean) => {
    const data = new FormData(form);
    const answers: Record<string, { values: string[]; skipped: boolean }> = {};
    for (const input of item.inputs) {
      const values = data.getAll(input.id).map(String).filter((v) => v.trim() !== "");
      answers[input.id] = { values, skipped: skipped || values.length === 0 };
    }
    setSending(true);
    await onSubmit(item.id, answers, skipped);
    setSending(false);
  };
  return (
    <form
      class="ck-structured"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(e.currentTarget, false);
      }}
    >
      {item.inputs.map((input) => (
        <fieldset>
          <legend>{input.question}</legend>
          {input.type === "multiple_choice" ? (
            input.options.map((option) => (
              <label class="w-check">
                <input type={input.multiple ? "checkbox" : "radio"} name={input.id} value={option.value} />
                {option.value}
              </label>
            ))
          ) : (
            <textarea class="w-input" name={input.id} rows={2} placeholder={input.description ?? ""} aria-label={input.question} />
          )}
        </fieldset>
      ))}
      <div class="w-actions">
        <button type="button" class="ck-button" disabled={sending} onClick={(e) => void submit(e.currentTarget.form!, true)}>
          Skip
        </button>
        <button type="submit" class="ck-button primary" disabled={sending}>
          Send answers
        </button>
      </div>
    </form>
  );
}

/**
 * A workflow's one-line summary. Tool calls are named by their tasks, also in items stored before
 * the server wrote such titles; a duration only means something for thinking.
 */
function workflowSummary(workflow: Extract<ThreadItem, { type: "workflow" }>["workflow"]): string {
  const summary = workflow.summary;
  if (summary && "title" in summary) return summary.title;
  if (workflow.type === "custom") return workflow.tasks.length > 0 ? toolCallsSummary(workflow.tasks) : "Working";
  if (!summary) return "Thinking";
  return summary.duration < 1 ? "Thought briefly" : `Thought for ${summary.duration} s`;
}

/** One thread item, drawn by its type. Hidden and marker items draw nothing. */
export function ItemView(props: ItemProps): JSX.Element | null {
  const { item } = props;
  switch (item.type) {
    case "user_message":
      return (
        <div class="ck-item ck-user" data-item-id={item.id}>
          {item.quoted_text && <blockquote class="ck-quote">{item.quoted_text}</blockquote>}
          {item.attachments.length > 0 && (
            <div class="ck-attachments">
              {item.attachments.map((attachment) => (
                <AttachmentView attachment={attachment} />
              ))}
            </div>
          )}
          <div class="ck-bubble">
            {item.content.map((part) => (part.type === "input_text" ? part.text : <span class="ck-tag">@{part.text}</span>))}
          </div>
        </div>
      );
    case "assistant_message": {
      const text = item.content.map((part) => part.text).join("\n\n");
      return (
        <div class="ck-item ck-assistant" data-item-id={item.id}>
          <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />
          {props.stopped && <p class="ck-stopped">Stopped</p>}
          <Sources annotations={item.content.flatMap((part) => part.annotations)} />
          {!props.streaming && text && (
            <div class="ck-item-actions">
              <button type="button" class="ck-icon-button" aria-label="Copy" title="Copy" onClick={() => void copyText(text).catch(() => undefined)}>
                <Icon name="copy" />
              </button>
              {props.feedback !== undefined && (
                <>
                  <button type="button" class="ck-icon-button" aria-label="Good answer" title="Good answer" aria-pressed={props.feedback === "positive"} onClick={() => props.onFeedback("positive")}>
                    <Icon name="up" />
                  </button>
                  <button type="button" class="ck-icon-button" aria-label="Bad answer" title="Bad answer" aria-pressed={props.feedback === "negative"} onClick={() => props.onFeedback("negative")}>
                    <Icon name="down" />
                  </button>
                </>
              )}
              {props.onRetry && (
                <button type="button" class="ck-icon-button" aria-label="Retry" title="Retry" onClick={props.onRetry}>
                  <Icon name="retry" />
                </button>
              )}
            </div>
          )}
        </div>
      );
    }
    case "widget":
      return (
        <div class="ck-item ck-widget" data-item-id={item.id}>
          <WidgetView item={item} run={props.onAction} />
        </div>
      );
    case "workflow":
      return (
        <details class="ck-item ck-workflow" open={item.workflow.expanded || props.streaming} data-item-id={item.id}>
          <summary>
            <Icon name={item.workflow.type === "reasoning" ? "sparkle" : "tool"} size={16} />
            {workflowSummary(item.workflow)}
          </summary>
          {item.workflow.tasks.map((task) => (
            <TaskView task={task} />
          ))}
        </details>
      );
    case "task":
      return (
        <div class="ck-item" data-item-id={item.id}>
          <TaskView task={item.task} />
        </div>
      );
    case "generated_image": {
      const url = item.image?.url;
      const own = url && (url.startsWith("data:") || new URL(url, location.href).origin === location.origin);
      return (
        <div class="ck-item ck-assistant" data-item-id={item.id}>
          {!url ? <p class="ck-muted">Creating an image…</p> : own ? <img class="ck-generated" src={url} alt="Generated image" /> : <a href={url} target="_blank" rel="noopener noreferrer">Generated image</a>}
        </div>
      );
    }
    case "client_tool_call": {
      const failed = typeof item.output === "object" && item.output !== null && "error" in item.output;
      return (
        <div class="ck-item ck-tool-call" data-item-id={item.id}>
          <Icon name="tool" size={16} />
          <span>
            Tool call in this browser: <code>{item.name}</code> {item.status === "pending" ? "running…" : failed ? "refused" : "done"}
          </span>
        </div>
      );
    }
    case "structured_input":
      return (
        <div class="ck-item" data-item-id={item.id}>
          <StructuredInputView item={item} onSubmit={props.onStructuredInput} />
        </div>
      );
    default:
      return null;
  }
}
