import { Icon } from "./icons.tsx";
import { renderMarkdown } from "./markdown.ts";
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ThreadStreamEvent } from "../../protocol/events.ts";
import type { Attachment, ThreadItem, ThreadMetadata, WidgetItem } from "../../protocol/items.ts";
import { ApiError, type ApiOptions, ChatkitApi } from "./api.ts";
import { Composer, type ComposerOptions, type Draft } from "./composer.tsx";
import { ItemView } from "./items.tsx";
import { applyEvent, EMPTY_THREAD, type ThreadState, userMessageBefore } from "./thread-state.ts";
import type { WidgetAction } from "./widgets.tsx";

/** The subset of the official component's options this client reads (the page passes the same object). */
export interface ClientOptions {
  api: ApiOptions;
  header?: { title?: { text?: string } };
  history?: { enabled?: boolean; showDelete?: boolean; showRename?: boolean };
  threadItemActions?: { feedback?: boolean; retry?: boolean };
  composer?: ComposerOptions;
  startScreen?: { greeting?: string };
  initialThread?: string | null;
}

function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Everything on screen: the history panel, the conversation and the composer. */
export function App({ options, root }: { options: ClientOptions; root: HTMLElement }): JSX.Element {
  const api = useMemo(() => new ChatkitApi(options.api), [options.api]);
  const [threads, setThreads] = useState<ThreadMetadata[]>([]);
  const [threadsCursor, setThreadsCursor] = useState<string | undefined>();
  const [state, setState] = useState<ThreadState>(EMPTY_THREAD);
  const [streaming, setStreaming] = useState<AbortController | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [banner, setBanner] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [feedback, setFeedback] = useState<Record<string, "positive" | "negative">>({});
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const threadId = state.thread?.id;
  const historyEnabled = options.history?.enabled !== false;

  const emit = (name: string, detail?: unknown) => root.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));

  const loadThreads = async (after?: string) => {
    try {
      const page = await api.listThreads(after);
      setThreads((known) => (after ? [...known, ...page.data.filter((t) => !known.some((k) => k.id === t.id))] : page.data));
      setThreadsCursor(page.has_more ? page.after : undefined);
    } catch (error) {
      setBanner(`Could not load your conversations: ${errorText(error)}`);
    }
  };

  useEffect(() => {
    if (historyEnabled) void loadThreads();
    const initial = options.initialThread ?? (location.hash.startsWith("#thr") ? decodeURIComponent(location.hash.slice(1)) : null);
    if (initial) void openThread(initial);
  }, []);

  // The phone drawer takes the keyboard focus while open and gives it back to its toggle.
  const historyToggle = useRef<HTMLButtonElement>(null);
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    if (!historyToggle.current || getComputedStyle(historyToggle.current).display === "none") return;
    if (historyOpen) root.querySelector<HTMLElement>(".ck-history [aria-current], .ck-history .ck-thread-link")?.focus();
    else historyToggle.current.focus();
  }, [historyOpen]);

  // Follow the stream while the reader is at the bottom; leave them be when they scrolled up.
  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [state]);

  const rememberThread = (thread: ThreadMetadata) => {
    setThreads((known) => (known.some((t) => t.id === thread.id) ? known.map((t) => (t.id === thread.id ? thread : t)) : [thread, ...known]));
  };

  const onEvent = (event: ThreadStreamEvent) => {
    setState((current) => applyEvent(current, event));
    if (event.type === "thread.created" || event.type === "thread.updated") {
      const { items: _items, ...thread } = event.thread;
      rememberThread(thread);
      if (event.type === "thread.created") {
        history.replaceState(null, "", `#${encodeURIComponent(thread.id)}`);
        emit("chatkit.thread.change", { threadId: thread.id });
      }
    } else if (event.type === "client_effect") {
      emit("chatkit.effect", { name: event.name, data: event.data });
    } else if (event.type === "error") {
      emit("chatkit.error", { error: event });
    }
  };

  /** Runs one streaming request; the stop button aborts it and keeps what has arrived. */
  const runStream = async (type: string, params: unknown): Promise<boolean> => {
    const controller = new AbortController();
    setStreaming(controller);
    setState((s) => ({ ...s, error: null, notices: [], progress: null }));
    stickToBottom.current = true;
    emit("chatkit.response.start");
    try {
      await api.stream(type, params, onEvent, controller.signal);
      return true;
    } catch (error) {
      if (controller.signal.aborted) return true;
      setState((s) => ({ ...s, error: { message: errorText(error), allowRetry: !(error instanceof ApiError) || error.status >= 500 } }));
      emit("chatkit.error", { error: errorText(error) });
      return false;
    } finally {
      setStreaming(null);
      setState((s) => ({ ...s, allowCancel: false, progress: null }));
      emit("chatkit.response.end");
    }
  };

  const openThread = async (id: string) => {
    if (streaming) streaming.abort();
    setHistoryOpen(false);
    setLoading(true);
    try {
      const [thread, page] = await Promise.all([api.getThread(id), api.listItems(id)]);
      const { items: _first, ...metadata } = thread;
      setState({ ...EMPTY_THREAD, thread: metadata, items: page.data.slice().reverse(), ...(page.has_more && page.after ? { olderCursor: page.after } : {}) });
      stickToBottom.current = true;
      history.replaceState(null, "", `#${encodeURIComponent(id)}`);
      emit("chatkit.thread.change", { threadId: id });
    } catch (error) {
      setBanner(error instanceof ApiError && error.status === 404 ? "That conversation does not exist any more." : `Could not open the conversation: ${errorText(error)}`);
      history.replaceState(null, "", location.pathname + location.search);
    } finally {
      setLoading(false);
    }
  };

  const loadOlder = async () => {
    if (!threadId || !state.olderCursor) return;
    const el = scroller.current;
    const fromBottom = el ? el.scrollHeight - el.scrollTop : 0;
    stickToBottom.current = false;
    try {
      const page = await api.listItems(threadId, state.olderCursor);
      setState((s) => {
        const { olderCursor: _old, ...rest } = s;
        return { ...rest, items: [...page.data.slice().reverse(), ...s.items], ...(page.has_more && page.after ? { olderCursor: page.after } : {}) };
      });
      requestAnimationFrame(() => el && (el.scrollTop = el.scrollHeight - fromBottom));
    } catch (error) {
      setBanner(`Could not load earlier messages: ${errorText(error)}`);
    }
  };

  const newThread = () => {
    if (streaming) streaming.abort();
    setState(EMPTY_THREAD);
    setHistoryOpen(false);
    history.replaceState(null, "", location.pathname + location.search);
    emit("chatkit.thread.change", { threadId: null });
  };

  const send = async (draft: Draft): Promise<boolean> => {
    const input = {
      content: [{ type: "input_text", text: draft.text }],
      attachments: draft.attachments.map((a) => a.id),
      inference_options: { ...(draft.model ? { model: draft.model } : {}), ...(draft.tool ? { tool_choice: { id: draft.tool } } : {}) },
    };
    return threadId ? runStream("threads.add_user_message", { thread_id: threadId, input }) : runStream("threads.create", { input });
  };

  const retry = async (userMessageId: string) => {
    if (!threadId || streaming) return;
    setState((s) => {
      const index = s.items.findIndex((item) => item.id === userMessageId);
      return index < 0 ? s : { ...s, items: s.items.slice(0, index + 1) };
    });
    await runStream("threads.retry_after_item", { thread_id: threadId, item_id: userMessageId });
  };

  const retryLast = () => {
    const last = userMessageBefore(state.items, "");
    if (last) void retry(last.id);
  };

  const sendFeedback = async (item: ThreadItem, kind: "positive" | "negative") => {
    if (!threadId) return;
    try {
      await api.feedback(threadId, [item.id], kind);
      setFeedback((f) => ({ ...f, [item.id]: kind }));
    } catch (error) {
      setBanner(`Feedback was not sent: ${errorText(error)}`);
    }
  };

  const runAction = async (action: WidgetAction, item: WidgetItem) => {
    const params = { thread_id: item.thread_id, item_id: item.id, action: { type: action.type, ...(action.payload === undefined ? {} : { payload: action.payload }) } };
    if (action.handler === "client") {
      emit("chatkit.widget.action", { action, item });
      return;
    }
    if (action.streaming === false) {
      try {
        const answer = await api.json<{ updated_item?: ThreadItem }>("threads.sync_custom_action", params);
        if (answer.updated_item) setState((s) => applyEvent(s, { type: "thread.item.replaced", item: answer.updated_item! }));
      } catch (error) {
        setState((s) => ({ ...s, error: { message: errorText(error), allowRetry: false } }));
      }
      return;
    }
    if (streaming) {
      setBanner("Wait for the answer to finish (or stop it) before using the widget.");
      return;
    }
    await runStream("threads.custom_action", params);
  };

  const submitStructuredInput = (itemId: string, answers: Record<string, { values: string[]; skipped: boolean }>, skipped: boolean) =>
    threadId
      ? runStream("threads.add_structured_input", { thread_id: threadId, item_id: itemId, input: { status: skipped ? "skipped" : "answered", answers } })
      : Promise.resolve(false);

  const rename = async (thread: ThreadMetadata, title: string) => {
    try {
      const updated = await api.renameThread(thread.id, title);
      const { items: _items, ...metadata } = updated;
      rememberThread(metadata);
      if (threadId === thread.id) setState((s) => ({ ...s, thread: metadata }));
    } catch (error) {
      setBanner(`Could not rename: ${errorText(error)}`);
    }
  };

  const remove = async (thread: ThreadMetadata) => {
    try {
      await api.deleteThread(thread.id);
      setThreads((known) => known.filter((t) => t.id !== thread.id));
      if (threadId === thread.id) newThread();
    } catch (error) {
      setBanner(`Could not delete: ${errorText(error)}`);
    }
  };

  const status = state.thread?.status ?? { type: "active" as const };
  const title = state.thread?.title ?? (state.thread ? "New conversation" : options.header?.title?.text ?? "Chat");
  const lastUserMessage = userMessageBefore(state.items, "");
  // Retrying an answer deletes everything after its question, so only the latest answer offers it.
  const lastAnswerId = state.items.findLast((item) => item.type === "assistant_message")?.id;

  return (
    <div class={`ck-app${historyOpen ? " history-open" : ""}`} onKeyDown={(e) => e.key === "Escape" && setHistoryOpen(false)}>
      {historyEnabled && (
        <HistoryPanel
          threads={threads}
          currentId={threadId}
          hasMore={threadsCursor !== undefined}
          onMore={() => void loadThreads(threadsCursor)}
          onOpen={(id) => void openThread(id)}
          onRename={(t, title) => void rename(t, title)}
          onDelete={(t) => void remove(t)}
          showRename={options.history?.showRename !== false}
          showDelete={options.history?.showDelete !== false}
        />
      )}
      <main class="ck-main">
        <div class="ck-topbar">
          {historyEnabled && (
            <button ref={historyToggle} type="button" class="ck-icon-button ck-history-toggle" aria-label="Conversations" aria-expanded={historyOpen} onClick={() => setHistoryOpen(!historyOpen)}>
              <Icon name="menu" />
            </button>
          )}
          <h2 class="ck-thread-title">{title}</h2>
          <button type="button" class="ck-button ck-new" onClick={newThread}>
            New chat
          </button>
        </div>
        {banner && (
          <div class="ck-banner" role="alert">
            <span>{banner}</span>
            <button type="button" class="ck-icon-button" aria-label="Dismiss" onClick={() => setBanner(null)}>
              <Icon name="close" />
            </button>
          </div>
        )}
        <div
          class="ck-messages"
          ref={scroller}
          role="log"
          aria-label="Conversation"
          aria-busy={streaming !== null}
          onScroll={(e) => {
            const el = e.currentTarget;
            stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {state.olderCursor && (
            <button type="button" class="ck-button ck-older" onClick={() => void loadOlder()}>
              Load earlier messages
            </button>
          )}
          {loading && <p class="ck-muted">Loading…</p>}
          {!loading && state.items.length === 0 && !streaming && (
            <div class="ck-start">
              <h3>{options.startScreen?.greeting ?? "What can I help with today?"}</h3>
            </div>
          )}
          {state.items.map((item) => (
            <ItemView
              key={item.id}
              item={item}
              streaming={streaming !== null}
              feedback={options.threadItemActions?.feedback !== false ? feedback[item.id] ?? null : undefined}
              onFeedback={(kind) => void sendFeedback(item, kind)}
              onRetry={
                options.threadItemActions?.retry !== false && item.id === lastAnswerId
                  ? () => {
                      const question = userMessageBefore(state.items, item.id);
                      if (question) void retry(question.id);
                    }
                  : undefined
              }
              onAction={runAction}
              onStructuredInput={submitStructuredInput}
            />
          ))}
          {state.progress && (
            <p class="ck-progress" role="status">
              <span class="ck-spinner" aria-hidden="true" /> {state.progress.text}
            </p>
          )}
          {streaming && !state.progress && <span class="ck-typing" role="status" aria-label="Answering" />}
          {state.notices.map((notice) => (
            <div class={`ck-notice ck-notice-${notice.level}`} role="status">
              {notice.title && <strong>{notice.title}</strong>}
              <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(notice.message) }} />
            </div>
          ))}
          {state.error && (
            <div class="ck-error" role="alert">
              <span>{state.error.message}</span>
              {state.error.allowRetry && lastUserMessage && (
                <button type="button" class="ck-button" onClick={retryLast}>
                  Retry
                </button>
              )}
            </div>
          )}
        </div>
        {status.type === "closed" ? (
          <div class="ck-closed">{status.reason ?? "This conversation is closed."}</div>
        ) : (
          <Composer
            api={api}
            options={options.composer ?? {}}
            disabledReason={status.type === "locked" ? status.reason ?? "This conversation is locked." : null}
            streaming={streaming !== null}
            canStop={streaming !== null}
            onStop={() => streaming?.abort()}
            onSend={send}
          />
        )}
      </main>
    </div>
  );
}

function HistoryPanel(props: {
  threads: ThreadMetadata[];
  currentId: string | undefined;
  hasMore: boolean;
  showRename: boolean;
  showDelete: boolean;
  onMore: () => void;
  onOpen: (id: string) => void;
  onRename: (thread: ThreadMetadata, title: string) => void;
  onDelete: (thread: ThreadMetadata) => void;
}): JSX.Element {
  const [editing, setEditing] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  return (
    <nav class="ck-history" aria-label="Conversations">
      <div class="ck-history-head">
        <h2>Conversations</h2>
      </div>
      {props.threads.length === 0 && <p class="ck-muted">No conversations yet.</p>}
      <ul>
        {props.threads.map((thread) => {
          const name = thread.title || "Untitled conversation";
          return (
            <li key={thread.id} class={thread.id === props.currentId ? "current" : ""} data-thread-id={thread.id}>
              {editing === thread.id ? (
                <form
                  class="ck-rename"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const title = String(new FormData(e.currentTarget).get("title") ?? "").trim();
                    if (title) props.onRename(thread, title);
                    setEditing(null);
                  }}
                >
                  <input name="title" defaultValue={thread.title ?? ""} aria-label="New title" autoFocus onKeyDown={(e) => e.key === "Escape" && setEditing(null)} />
                  <button type="submit" class="ck-button">
                    Save
                  </button>
                </form>
              ) : confirming === thread.id ? (
                <div class="ck-confirm">
                  <span>Delete “{name}”?</span>
                  <button type="button" class="ck-button danger" onClick={() => (setConfirming(null), props.onDelete(thread))}>
                    Delete
                  </button>
                  <button type="button" class="ck-button" onClick={() => setConfirming(null)}>
                    Keep
                  </button>
                </div>
              ) : (
                <div class="ck-thread-row">
                  <button type="button" class="ck-thread-link" aria-current={thread.id === props.currentId ? "true" : undefined} onClick={() => props.onOpen(thread.id)}>
                    <span class="ck-thread-name">{name}</span>
                    <time class="ck-muted" dateTime={thread.created_at}>
                      {new Date(thread.created_at).toLocaleDateString()}
                    </time>
                  </button>
                  {props.showRename && (
                    <button type="button" class="ck-icon-button" aria-label={`Rename ${name}`} title="Rename" onClick={() => setEditing(thread.id)}>
                      <Icon name="edit" />
                    </button>
                  )}
                  {props.showDelete && (
                    <button type="button" class="ck-icon-button" aria-label={`Delete ${name}`} title="Delete" onClick={() => setConfirming(thread.id)}>
                      <Icon name="trash" />
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {props.hasMore && (
        <button type="button" class="ck-button ck-more" onClick={props.onMore}>
          Show older
        </button>
      )}
    </nav>
  );
}

export type { Attachment };
