import { Icon } from "./icons.tsx";
import { onMarkdownClick, renderMarkdown } from "./markdown.ts";
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ThreadStreamEvent } from "../../protocol/events.ts";
import type { Attachment, ClientToolCallItem, ThreadItem, ThreadMetadata, WidgetItem } from "../../protocol/items.ts";
import { ApiError, type ApiOptions, ChatkitApi } from "./api.ts";
import { runClientTool } from "./client-tools.ts";
import { Composer, type ComposerOptions, type Draft } from "./composer.tsx";
import { HistoryPanel, useNarrow } from "./history.tsx";
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
  startScreen?: { greeting?: string; prompts?: Array<{ label: string; prompt: string; icon?: string }> };
  initialThread?: string | null;
}

/** What the page adds for the one header: who is signed in and where to sign out. */
export interface PageInfo {
  userEmail: string;
  logoutPath: string;
}

/** A fallback notice closed once stays closed in this browser. */
const NOTICE_DISMISSED_KEY = "chatkit-box.fallback-notice-dismissed";
/** How long a deleted conversation can be brought back before it is deleted on the server. */
const UNDO_MS = 8000;

function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  // fetch rejects with a TypeError when the server cannot be reached at all.
  if (error instanceof TypeError) return "The server could not be reached. Check the connection and try again.";
  return error instanceof Error ? error.message : String(error);
}

function remembered(key: string): boolean {
  try {
    return localStorage.getItem(key) !== null;
  } catch {
    return false;
  }
}

function remember(key: string): void {
  try {
    localStorage.setItem(key, "1");
  } catch {
    // Storage off (private mode): closed for this visit only.
  }
}

interface PendingDelete {
  thread: ThreadMetadata;
  index: number;
  wasOpen: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** Everything on screen: the header, the history, the conversation and the composer. */
export function App({ options, root, page, fallbackNotice }: { options: ClientOptions; root: HTMLElement; page: PageInfo | undefined; fallbackNotice: string | undefined }): JSX.Element {
  const api = useMemo(() => new ChatkitApi(options.api), [options.api]);
  const [threads, setThreads] = useState<ThreadMetadata[]>([]);
  const [threadsCursor, setThreadsCursor] = useState<string | undefined>();
  const [state, setState] = useState<ThreadState>(EMPTY_THREAD);
  const [streaming, setStreaming] = useState<AbortController | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [banner, setBanner] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(fallbackNotice && !remembered(NOTICE_DISMISSED_KEY) ? fallbackNotice : null);
  const [loading, setLoading] = useState(false);
  const [feedback, setFeedback] = useState<Record<string, "positive" | "negative">>({});
  /** Answers the user stopped (this visit): they carry a "Stopped" mark. */
  const [stopped, setStopped] = useState<Set<string>>(new Set());
  const [pendingDelete, setPendingDelete] = useState<PendingDelete | null>(null);
  const pendingDeleteRef = useRef<PendingDelete | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const clientToolCall = useRef<ClientToolCallItem | null>(null);
  const saidSomething = useRef(false);
  const historyToggle = useRef<HTMLButtonElement>(null);
  const undoButton = useRef<HTMLButtonElement>(null);
  const narrow = useNarrow();
  const threadId = state.thread?.id;
  const historyEnabled = options.history?.enabled !== false;
  const agentName = options.header?.title?.text ?? "Chat";

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
    // A deletion still waiting for its undo window is carried out when the page goes away.
    const flush = () => {
      const waiting = pendingDeleteRef.current;
      if (waiting) void api.deleteThread(waiting.thread.id, { keepalive: true }).catch(() => undefined);
    };
    addEventListener("pagehide", flush);
    return () => removeEventListener("pagehide", flush);
  }, []);

  // Follow the stream while the reader is at the bottom; leave them be when they scrolled up.
  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [state, streaming]);

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
    } else if (event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta") {
      saidSomething.current = true;
    } else if (event.type === "thread.item.done" && event.item.type === "client_tool_call" && event.item.status === "pending") {
      clientToolCall.current = event.item;
    } else if (event.type === "client_effect") {
      emit("chatkit.effect", { name: event.name, data: event.data });
    } else if (event.type === "error") {
      emit("chatkit.error", { error: event });
    }
  };

  /**
   * Runs one streaming request; the stop button aborts it and keeps what has arrived. A turn that
   * ends asking the page for a client tool gets the tool's output (or an error output) at once.
   */
  const runStream = async (type: string, params: unknown): Promise<boolean> => {
    const controller = new AbortController();
    setStreaming(controller);
    setState((s) => ({ ...s, error: null, notices: [], progress: null }));
    stickToBottom.current = true;
    clientToolCall.current = null;
    saidSomething.current = false;
    emit("chatkit.response.start");
    let ok = false;
    try {
      await api.stream(type, params, onEvent, controller.signal);
      ok = true;
    } catch (error) {
      if (controller.signal.aborted) return true;
      const message =
        error instanceof ApiError || !saidSomething.current
          ? errorText(error)
          : "The connection was cut off before the answer finished. What arrived is shown; try again.";
      setState((s) => ({ ...s, error: { message, allowRetry: !(error instanceof ApiError) || error.status >= 500 } }));
      emit("chatkit.error", { error: errorText(error) });
      return false;
    } finally {
      setStreaming(null);
      setState((s) => ({ ...s, allowCancel: false, progress: null }));
      emit("chatkit.response.end");
    }
    const call = clientToolCall.current;
    if (ok && call) await answerClientTool(call);
    return true;
  };

  const answerClientTool = async (call: ClientToolCallItem) => {
    clientToolCall.current = null;
    const result = await runClientTool(call.name, call.arguments);
    setState((s) => applyEvent(s, { type: "thread.item.replaced", item: { ...call, status: "completed", output: result } }));
    await runStream("threads.add_client_tool_output", { thread_id: call.thread_id, result });
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
      // A turn left waiting for this page (closed while a client tool ran) is answered now.
      const newest = page.data[0];
      if (newest?.type === "client_tool_call" && newest.status === "pending") void answerClientTool(newest);
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

  const stop = () => {
    if (!streaming) return;
    const last = state.items.at(-1);
    if (last?.type === "assistant_message") setStopped((ids) => new Set(ids).add(last.id));
    streaming.abort();
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

  /** Deletes on the server now (the undo window closed, or another deletion replaces this one). */
  const commitDelete = async (waiting: PendingDelete) => {
    clearTimeout(waiting.timer);
    if (pendingDeleteRef.current === waiting) {
      pendingDeleteRef.current = null;
      setPendingDelete(null);
    }
    try {
      await api.deleteThread(waiting.thread.id);
    } catch (error) {
      setThreads((known) => (known.some((t) => t.id === waiting.thread.id) ? known : [...known.slice(0, waiting.index), waiting.thread, ...known.slice(waiting.index)]));
      setBanner(`Could not delete: ${errorText(error)}`);
    }
  };

  /** Takes the conversation off the list at once; the server deletes it when the undo window has passed. */
  const remove = (thread: ThreadMetadata) => {
    if (pendingDeleteRef.current) void commitDelete(pendingDeleteRef.current);
    const waiting: PendingDelete = {
      thread,
      index: Math.max(0, threads.findIndex((t) => t.id === thread.id)),
      wasOpen: threadId === thread.id,
      timer: setTimeout(() => void commitDelete(waiting), UNDO_MS),
    };
    pendingDeleteRef.current = waiting;
    setPendingDelete(waiting);
    setThreads((known) => known.filter((t) => t.id !== thread.id));
    if (waiting.wasOpen) newThread();
    requestAnimationFrame(() => undoButton.current?.focus());
  };

  const undoDelete = () => {
    const waiting = pendingDeleteRef.current;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    pendingDeleteRef.current = null;
    setPendingDelete(null);
    setThreads((known) => [...known.slice(0, waiting.index), waiting.thread, ...known.slice(waiting.index)]);
    if (waiting.wasOpen) void openThread(waiting.thread.id);
  };

  const status = state.thread?.status ?? { type: "active" as const };
  const threadTitle = state.thread ? state.thread.title ?? "New conversation" : null;
  const lastUserMessage = userMessageBefore(state.items, "");
  // Retrying an answer deletes everything after its question, so only the latest answer offers it.
  const lastAnswerId = state.items.findLast((item) => item.type === "assistant_message")?.id;
  const prompts = options.startScreen?.prompts ?? [];

  return (
    <div class={`ck-app${historyOpen ? " history-open" : ""}`}>
      <header class="ck-topbar">
        {historyEnabled && narrow && (
          <button
            ref={historyToggle}
            type="button"
            class="ck-icon-button ck-history-toggle"
            aria-label="Conversations"
            aria-expanded={historyOpen}
            aria-controls="ck-history"
            onClick={() => setHistoryOpen(!historyOpen)}
          >
            <Icon name={historyOpen ? "close" : "menu"} />
          </button>
        )}
        <div class="ck-titles">
          <h1 class="ck-agent-name">{agentName}</h1>
          {threadTitle !== null && <span class="ck-thread-title">{threadTitle}</span>}
        </div>
        <button type="button" class="ck-button ck-new" onClick={newThread} aria-label="New chat">
          <Icon name="plus" /> <span class="ck-new-label">New chat</span>
        </button>
        {page && (
          <details
            class="ck-account"
            onKeyDown={(e) => {
              if (e.key !== "Escape" || !e.currentTarget.open) return;
              e.currentTarget.open = false;
              e.currentTarget.querySelector("summary")?.focus();
            }}
          >
            <summary class="ck-icon-button" aria-label={`Account: ${page.userEmail}`} title={page.userEmail}>
              <span class="ck-avatar" aria-hidden="true">
                {page.userEmail.slice(0, 1).toUpperCase()}
              </span>
            </summary>
            <div class="ck-account-menu">
              <span class="ck-account-email">{page.userEmail}</span>
              <a class="ck-button" href="/account/api/export" download>
                Export my data
              </a>
              <form method="post" action={page.logoutPath}>
                <button type="submit" class="ck-button">
                  Sign out
                </button>
              </form>
            </div>
          </details>
        )}
      </header>
      <div class="ck-body">
        {historyEnabled && (
          <HistoryPanel
            threads={threads}
            currentId={threadId}
            hasMore={threadsCursor !== undefined}
            narrow={narrow}
            open={historyOpen}
            toggle={historyToggle}
            onClose={() => setHistoryOpen(false)}
            onMore={() => void loadThreads(threadsCursor)}
            onOpen={(id) => void openThread(id)}
            onRename={(t, title) => void rename(t, title)}
            onDelete={remove}
            showRename={options.history?.showRename !== false}
            showDelete={options.history?.showDelete !== false}
          />
        )}
        <main class="ck-main">
          {notice && (
            <div class="ck-banner ck-banner-notice" role="status">
              <span>{notice}</span>
              <button
                type="button"
                class="ck-icon-button"
                aria-label="Close this notice"
                onClick={() => {
                  remember(NOTICE_DISMISSED_KEY);
                  setNotice(null);
                }}
              >
                <Icon name="close" />
              </button>
            </div>
          )}
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
            onClick={(e) => onMarkdownClick(e)}
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
            {loading && (
              <p class="ck-muted ck-loading" role="status">
                <span class="ck-spinner" aria-hidden="true" /> Loading…
              </p>
            )}
            {!loading && state.items.length === 0 && !streaming && (
              <div class="ck-start">
                <h2>{options.startScreen?.greeting ?? "What can I help with today?"}</h2>
                {prompts.length > 0 && (
                  <ul class="ck-prompts" aria-label="Suggestions">
                    {prompts.map((prompt) => (
                      <li>
                        <button type="button" class="ck-prompt" onClick={() => void send({ text: prompt.prompt, attachments: [], model: undefined, tool: undefined })}>
                          <Icon name="sparkle" />
                          <span>{prompt.label}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            )}
            {state.items.map((item) => (
              <ItemView
                key={item.id}
                item={item}
                streaming={streaming !== null}
                stopped={stopped.has(item.id)}
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
          {pendingDelete && (
            <div class="ck-toast" role="status">
              <span>Deleted “{pendingDelete.thread.title || "Untitled conversation"}”.</span>
              <button ref={undoButton} type="button" class="ck-button" onClick={undoDelete}>
                Undo
              </button>
              <button type="button" class="ck-icon-button" aria-label="Close (delete now)" onClick={() => void commitDelete(pendingDelete)}>
                <Icon name="close" />
              </button>
            </div>
          )}
          {status.type === "closed" ? (
            <div class="ck-closed">{status.reason ?? "This conversation is closed."}</div>
          ) : (
            <Composer
              api={api}
              options={options.composer ?? {}}
              disabledReason={status.type === "locked" ? status.reason ?? "This conversation is locked." : null}
              streaming={streaming !== null}
              canStop={streaming !== null}
              onStop={stop}
              onSend={send}
            />
          )}
        </main>
      </div>
    </div>
  );
}

export type { Attachment };
