import type { RequestParams } from "../protocol/requests.ts";
import { DEFAULT_PAGE_SIZE } from "../protocol/requests.ts";
import { threadToWire, toPage } from "../protocol/serialize.ts";
import type { Page, Thread } from "../protocol/items.ts";
import { ChatkitError } from "../core/errors.ts";
import { requireAgent, requireThread, type HandlerContext } from "./context.ts";

export async function getThread(hc: HandlerContext, params: RequestParams<"threads.get_by_id">): Promise<Thread> {
  const thread = await requireThread(hc, params.thread_id);
  const items = await hc.store.items.list(hc.owner, thread.id, { limit: DEFAULT_PAGE_SIZE, order: "asc" });
  const fresh = items.rows.map((item) => hc.services.attachments.withFreshPreviewUrls(item, hc.publicBaseUrl));
  return threadToWire(thread, toPage(fresh, items.hasMore));
}

export async function listThreads(hc: HandlerContext, params: RequestParams<"threads.list">): Promise<Page<Thread>> {
  const agent = requireAgent(hc);
  const page = await hc.store.threads.list(hc.owner, {
    agentId: agent.id,
    limit: params.limit ?? DEFAULT_PAGE_SIZE,
    order: params.order,
    after: params.after,
  });
  return toPage(page.rows.map((row) => threadToWire(row)), page.hasMore);
}

export async function updateThread(hc: HandlerContext, params: RequestParams<"threads.update">): Promise<Thread> {
  const thread = await requireThread(hc, params.thread_id);
  const title = params.title.trim();
  const updated = await hc.store.threads.update(hc.owner, thread.id, { title: title === "" ? null : title });
  if (!updated) throw new ChatkitError(404, "thread_not_found");
  return threadToWire(updated);
}

export async function deleteThread(hc: HandlerContext, params: RequestParams<"threads.delete">): Promise<Record<string, never>> {
  const thread = await requireThread(hc, params.thread_id);
  const deleted = await hc.store.threads.delete(hc.owner, thread.id);
  if (!deleted) throw new ChatkitError(404, "thread_not_found");
  await hc.services.attachments.files.remove(deleted.attachmentIds);
  return {};
}
