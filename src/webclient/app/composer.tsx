import { Icon } from "./icons.tsx";
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Attachment } from "../../protocol/items.ts";
import type { ChatkitApi } from "./api.ts";
import { ToolMenu } from "./tool-menu.tsx";

/** `composer` of the official options, as far as this client uses it. */
export interface ComposerOptions {
  placeholder?: string;
  attachments?: { enabled?: boolean; maxSize?: number; maxCount?: number; accept?: Record<string, string[]> };
  models?: Array<{ id: string; label: string; description?: string; default?: boolean }>;
  /** The agent's tools the user may make the model use (`inference_options.tool_choice`). */
  tools?: Array<{ id: string; label: string; shortLabel?: string; placeholderOverride?: string; pinned?: boolean }>;
  dictation?: { enabled?: boolean };
}

export interface Draft {
  text: string;
  attachments: Attachment[];
  model: string | undefined;
  tool: string | undefined;
}

interface Pending {
  key: number;
  name: string;
  /** A local preview of an image while and after it uploads. */
  preview?: string;
  attachment?: Attachment;
  error?: string;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** `image/*` matches `image/png`; an extension (`.pdf`) matches the file name. */
function accepts(accept: Record<string, string[]> | undefined, file: File): boolean {
  if (!accept || Object.keys(accept).length === 0) return true;
  const type = (file.type || "application/octet-stream").toLowerCase();
  const name = file.name.toLowerCase();
  return Object.entries(accept).some(
    ([mime, extensions]) =>
      mime === type || (mime.endsWith("/*") && type.startsWith(mime.slice(0, -1))) || extensions.some((ext) => name.endsWith(ext.toLowerCase())),
  );
}

function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] ?? "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

let nextKey = 1;

/** The message box: text, attachments (uploaded as they are picked), model, dictation, send and stop. */
export function Composer(props: {
  api: ChatkitApi;
  options: ComposerOptions;
  disabledReason: string | null;
  streaming: boolean;
  canStop: boolean;
  onStop: () => void;
  onSend: (draft: Draft) => Promise<boolean>;
}): JSX.Element {
  const { api, options } = props;
  const [text, setText] = useState("");
  const [pending, setPending] = useState<Pending[]>([]);
  const models = options.models ?? [];
  const [model, setModel] = useState<string | undefined>(models.find((m) => m.default)?.id ?? models[0]?.id);
  const tools = options.tools ?? [];
  const [tool, setTool] = useState<string | undefined>(undefined);
  const chosenTool = tools.find((t) => t.id === tool);
  const [recording, setRecording] = useState<MediaRecorder | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const attachments = options.attachments?.enabled ? options.attachments : undefined;
  const maxCount = attachments?.maxCount ?? 10;
  const uploading = pending.some((p) => !p.attachment && !p.error);

  useEffect(() => textarea.current?.focus(), []);
  useEffect(() => {
    const el = textarea.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  const addFiles = (files: File[]) => {
    if (!attachments) return;
    for (const file of files) {
      if (pending.length >= maxCount) {
        setHint(`At most ${maxCount} files per message.`);
        return;
      }
      if (!accepts(attachments.accept, file)) {
        setHint(`${file.name}: this type of file is not accepted.`);
        continue;
      }
      if (attachments.maxSize !== undefined && file.size > attachments.maxSize) {
        setHint(`${file.name} is ${formatBytes(file.size)}; files may be at most ${formatBytes(attachments.maxSize)}.`);
        continue;
      }
      setHint(null);
      const key = nextKey++;
      const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : undefined;
      setPending((list) => [...list, { key, name: file.name, ...(preview ? { preview } : {}) }]);
      api.upload(file).then(
        (attachment) => setPending((list) => list.map((p) => (p.key === key ? { ...p, attachment } : p))),
        (error: Error) => setPending((list) => list.map((p) => (p.key === key ? { ...p, error: error.message } : p))),
      );
    }
  };

  const removePending = (item: Pending) => {
    setPending((list) => list.filter((p) => p.key !== item.key));
    if (item.preview) URL.revokeObjectURL(item.preview);
    if (item.attachment) void api.deleteAttachment(item.attachment.id).catch(() => undefined);
  };

  const ready = pending.filter((p) => p.attachment).map((p) => p.attachment!);
  const canSendText = (value: string) => !props.streaming && !props.disabledReason && !uploading && (value.trim() !== "" || ready.length > 0);
  const canSend = canSendText(text);

  const submit = async () => {
    // The box's own value: text pasted and sent at once may not have reached the state yet.
    const value = textarea.current?.value ?? text;
    if (!canSendText(value)) return;
    const draft: Draft = { text: value.trim(), attachments: ready, model: models.length > 0 ? model : undefined, tool };
    const kept = { text: value, pending, tool };
    setText("");
    setPending([]);
    setTool(undefined);
    const sent = await props.onSend(draft);
    if (!sent) {
      setText(kept.text);
      setPending(kept.pending);
      setTool(kept.tool);
    }
  };

  const dictate = async () => {
    if (recording) {
      recording.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const recorder = new MediaRecorder(stream);
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = async () => {
        stream.getTracks().forEach((track) => track.stop());
        setRecording(null);
        const blob = new Blob(chunks, { type: recorder.mimeType });
        try {
          const { text: heard } = await api.transcribe(await blobToBase64(blob), recorder.mimeType || "audio/webm");
          setText((current) => (current ? `${current} ${heard}` : heard));
        } catch (error) {
          setHint(`Dictation failed: ${(error as Error).message}`);
        }
      };
      recorder.start();
      setRecording(recorder);
    } catch (error) {
      setHint(`No microphone: ${(error as Error).message}`);
    }
  };

  const acceptAttr = attachments?.accept ? Object.entries(attachments.accept).flatMap(([mime, ext]) => [mime, ...ext]).join(",") : undefined;
  const limits = attachments
    ? [attachments.maxSize !== undefined ? `up to ${formatBytes(attachments.maxSize)} each` : "", attachments.accept ? Object.keys(attachments.accept).join(", ") : ""]
        .filter(Boolean)
        .join("; ")
    : "";

  return (
    <form
      class="ck-composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onDragOver={(e) => attachments && e.preventDefault()}
      onDrop={(e) => {
        if (!attachments || !e.dataTransfer) return;
        e.preventDefault();
        addFiles(Array.from(e.dataTransfer.files));
      }}
    >
      {pending.length > 0 && (
        <ul class="ck-pending" aria-label="Attachments">
          {pending.map((item) => (
            <li class={item.error ? "failed" : item.attachment ? "ready" : "uploading"} title={item.error ?? item.name}>
              {item.preview ? <img src={item.preview} alt="" /> : <Icon name="file" />}
              <span class="ck-pending-name">{item.name}</span>
              {!item.attachment && !item.error && <span class="ck-spinner" aria-label="Uploading" />}
              {item.error && <span class="ck-pending-error">{item.error}</span>}
              <button type="button" class="ck-icon-button" aria-label={`Remove ${item.name}`} onClick={() => removePending(item)}>
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {hint && (
        <p class="ck-hint" role="alert">
          {hint}
        </p>
      )}
      <div class="ck-composer-row">
        {attachments && (
          <>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              accept={acceptAttr}
              onChange={(e) => {
                addFiles(Array.from(e.currentTarget.files ?? []));
                e.currentTarget.value = "";
              }}
            />
            <button type="button" class="ck-icon-button" aria-label="Attach files" title={`Attach files${limits ? ` (${limits})` : ""}`} onClick={() => fileInput.current?.click()}>
              <Icon name="attach" />
            </button>
          </>
        )}
        <textarea
          ref={textarea}
          rows={1}
          value={text}
          aria-label="Message"
          placeholder={props.disabledReason ?? chosenTool?.placeholderOverride ?? options.placeholder ?? "Message the assistant"}
          disabled={props.disabledReason !== null}
          onInput={(e) => setText(e.currentTarget.value)}
          onPaste={(e) => {
            const files = Array.from(e.clipboardData?.files ?? []);
            if (files.length > 0 && attachments) {
              e.preventDefault();
              addFiles(files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape" && props.streaming && props.canStop) {
              e.preventDefault();
              props.onStop();
            } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              void submit();
            }
          }}
        />
        {options.dictation?.enabled && typeof MediaRecorder !== "undefined" && (
          <button type="button" class={`ck-icon-button${recording ? " recording" : ""}`} aria-label={recording ? "Stop dictation" : "Dictate"} aria-pressed={recording !== null} onClick={() => void dictate()}>
            <Icon name="mic" />
          </button>
        )}
        {props.streaming ? (
          <button type="button" class="ck-send stop" aria-label="Stop" title="Stop" disabled={!props.canStop} onClick={props.onStop}>
            <Icon name="stop" />
          </button>
        ) : (
          <button type="submit" class="ck-send" aria-label="Send" title="Send" disabled={!canSend}>
            <Icon name="send" />
          </button>
        )}
      </div>
      {(models.length > 0 || tools.length > 0 || limits) && (
        <div class="ck-composer-meta">
          {tools.length > 0 && <ToolMenu tools={tools} chosen={tool} onChoose={setTool} />}
          {models.length > 0 && (
            <label>
              <span class="ck-visually-hidden">Model</span>
              <select value={model} onChange={(e) => setModel(e.currentTarget.value)} aria-label="Model">
                {models.map((m) => (
                  <option value={m.id} title={m.description}>
                    {m.label}
                  </option>
                ))}
              </select>
            </label>
          )}
          {limits && <span class="ck-limits">Files: {limits}</span>}
        </div>
      )}
    </form>
  );
}
