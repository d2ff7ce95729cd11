import type { JSX, RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ThreadMetadata } from "../../protocol/items.ts";
import { Icon } from "./icons.tsx";

/** Below this width the history is a drawer over the conversation. */
const NARROW = "(max-width: 760px)";

export function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(() => matchMedia(NARROW).matches);
  useEffect(() => {
    const query = matchMedia(NARROW);
    const changed = () => setNarrow(query.matches);
    query.addEventListener("change", changed);
    return () => query.removeEventListener("change", changed);
  }, []);
  return narrow;
}

const FOCUSABLE = "button:not([disabled]), input:not([disabled]), [href], [tabindex]:not([tabindex='-1'])";

/**
 * The conversations: a side panel on a wide screen; on a phone a drawer under the header (so the
 * menu button stays in reach) with a backdrop. The open drawer is a modal dialog: it has a close
 * button, a tap on the backdrop or Escape closes it, Tab stays inside it, and the focus goes back
 * to the menu button when it closes.
 */
export function HistoryPanel(props: {
  threads: ThreadMetadata[];
  currentId: string | undefined;
  hasMore: boolean;
  narrow: boolean;
  open: boolean;
  toggle: RefObject<HTMLButtonElement>;
  showRename: boolean;
  showDelete: boolean;
  onClose: () => void;
  onMore: () => void;
  onOpen: (id: string) => void;
  onRename: (thread: ThreadMetadata, title: string) => void;
  onDelete: (thread: ThreadMetadata) => void;
}): JSX.Element {
  const [editing, setEditing] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);
  const drawer = props.narrow;
  const wasOpen = useRef(false);

  useEffect(() => {
    if (!drawer) return;
    if (props.open) {
      wasOpen.current = true;
      panel.current?.querySelector<HTMLElement>("[aria-current], .ck-thread-link, button")?.focus();
    } else if (wasOpen.current) {
      wasOpen.current = false;
      props.toggle.current?.focus();
    }
  }, [props.open, drawer]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (!drawer || !props.open) return;
    if (e.key === "Escape" && !editing) {
      e.preventDefault();
      props.onClose();
    } else if (e.key === "Tab" && panel.current) {
      const focusable = Array.from(panel.current.querySelectorAll<HTMLElement>(FOCUSABLE));
      const first = focusable[0];
      const last = focusable.at(-1);
      if (!first || !last) return;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  const modal = drawer && props.open;
  return (
    <>
      {modal && <div class="ck-backdrop" aria-hidden="true" onClick={props.onClose} />}
      <nav
        id="ck-history"
        ref={panel}
        class={`ck-history${drawer ? " ck-drawer" : ""}`}
        aria-label="Conversations"
        {...(modal ? { role: "dialog", "aria-modal": "true" } : {})}
        {...(drawer && !props.open ? { inert: true, "aria-hidden": "true" } : {})}
        onKeyDown={onKeyDown}
      >
        <div class="ck-history-head">
          <h2>Conversations</h2>
          {drawer && (
            <button type="button" class="ck-icon-button" aria-label="Close the list" onClick={props.onClose}>
              <Icon name="close" />
            </button>
          )}
        </div>
        {props.threads.length === 0 && <p class="ck-muted">No conversations yet.</p>}
        <ul>
          {props.threads.map((thread) => {
            const name = thread.title || "Untitled conversation";
            const current = thread.id === props.currentId;
            return (
              <li key={thread.id} class={current ? "current" : ""} data-thread-id={thread.id}>
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
                ) : (
                  <div class="ck-thread-row">
                    <button type="button" class="ck-thread-link" aria-current={current ? "true" : undefined} onClick={() => props.onOpen(thread.id)}>
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
                      <button type="button" class="ck-icon-button" aria-label={`Delete ${name}`} title="Delete" onClick={() => props.onDelete(thread)}>
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
    </>
  );
}
