import type { ThreadStreamEvent } from "../../protocol/events.ts";
import type { Attachment, Page, Thread, ThreadItem, ThreadMetadata, UploadDescriptor } from "../../protocol/items.ts";

/** `api` of the page's ChatKit options, the same object the official component receives. */
export interface ApiOptions {
  url: string;
  domainKey?: string;
  uploadStrategy?: { type: "direct"; uploadUrl: string } | { type: "two_phase" };
}

/** A refused request: the server's `{error, message}` body, or the network's failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly key?: string,
  ) {
    super(message);
  }
}

async function failure(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  return new ApiError(body.message ?? `The server answered ${response.status}.`, response.status, body.error);
}

/**
 * The ChatKit protocol as the official component speaks it: every operation a POST of
 * `{type, params}` to `api.url`, answered with JSON or with Server-Sent Events. The page's
 * session cookie authenticates (same origin).
 */
export class ChatkitApi {
  constructor(private readonly options: ApiOptions) {}

  private post(type: string, params: unknown, signal?: AbortSignal, keepalive = false): Promise<Response> {
    return fetch(this.options.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type, params, metadata: {} }),
      signal: signal ?? null,
      keepalive,
    });
  }

  /** `keepalive`: the request outlives the page (sent while it is being closed). */
  async json<T>(type: string, params: unknown, options: { keepalive?: boolean } = {}): Promise<T> {
    const response = await this.post(type, params, undefined, options.keepalive);
    if (!response.ok) throw await failure(response);
    return (await response.json()) as T;
  }

  /** Runs a streaming request, handing each event to `onEvent`; aborting `signal` is the stop button. */
  async stream(type: string, params: unknown, onEvent: (event: ThreadStreamEvent) => void, signal: AbortSignal): Promise<void> {
    const response = await this.post(type, params, signal);
    if (!response.ok) throw await failure(response);
    if (!response.body) return;
    for await (const event of readEvents(response.body)) onEvent(event);
  }

  listThreads(after?: string): Promise<Page<ThreadMetadata>> {
    return this.json("threads.list", { limit: 20, order: "desc", ...(after ? { after } : {}) });
  }

  getThread(threadId: string): Promise<Thread> {
    return this.json("threads.get_by_id", { thread_id: threadId });
  }

  /** Newest first; the caller reverses for display. */
  listItems(threadId: string, after?: string): Promise<Page<ThreadItem>> {
    return this.json("items.list", { thread_id: threadId, limit: 30, order: "desc", ...(after ? { after } : {}) });
  }

  renameThread(threadId: string, title: string): Promise<Thread> {
    return this.json("threads.update", { thread_id: threadId, title });
  }

  deleteThread(threadId: string, options: { keepalive?: boolean } = {}): Promise<unknown> {
    return this.json("threads.delete", { thread_id: threadId }, options);
  }

  feedback(threadId: string, itemIds: string[], kind: "positive" | "negative"): Promise<unknown> {
    return this.json("items.feedback", { thread_id: threadId, item_ids: itemIds, kind });
  }

  deleteAttachment(attachmentId: string): Promise<unknown> {
    return this.json("attachments.delete", { attachment_id: attachmentId });
  }

  transcribe(audioBase64: string, mimeType: string): Promise<{ text: string }> {
    return this.json("input.transcribe", { audio_base64: audioBase64, mime_type: mimeType });
  }

  /** Sends a file by the page's upload strategy and answers the stored attachment. */
  async upload(file: File, signal?: AbortSignal): Promise<Attachment> {
    const strategy = this.options.uploadStrategy ?? { type: "two_phase" };
    if (strategy.type === "direct") {
      const form = new FormData();
      form.append("file", file, file.name);
      const response = await fetch(strategy.uploadUrl, { method: "POST", credentials: "same-origin", body: form, signal: signal ?? null });
      if (!response.ok) throw await failure(response);
      return (await response.json()) as Attachment;
    }
    const created = await this.json<Attachment & { upload_descriptor?: UploadDescriptor }>("attachments.create", {
      name: file.name,
      size: file.size,
      mime_type: file.type || "application/octet-stream",
    });
    const descriptor = created.upload_descriptor;
    if (descriptor) {
      let body: Blob | FormData = file;
      if (descriptor.method === "POST") {
        const form = new FormData();
        form.append("file", file, file.name);
        body = form;
      }
      const response = await fetch(descriptor.url, {
        method: descriptor.method,
        headers: descriptor.headers ?? {},
        credentials: "same-origin",
        body,
        signal: signal ?? null,
      });
      if (!response.ok) {
        await this.deleteAttachment(created.id).catch(() => undefined);
        throw await failure(response);
      }
    }
    const { upload_descriptor: _sent, ...attachment } = created;
    return attachment as Attachment;
  }
}

/** Parses an SSE body: `data:` lines make an event, blank lines end it, comments are skipped. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ThreadStreamEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
          .join("\n");
        if (data) yield JSON.parse(data) as ThreadStreamEvent;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
