import type { RequestParams } from "../protocol/requests.ts";
import { DEFAULT_PAGE_SIZE } from "../protocol/requests.ts";
import { pageJson, threadJson, threadPageJson, threadToWire, type JsonText } from "../protocol/serialize.ts";
import type { Page, Thread } from "../protocol/items.ts";
import { ChatkitError } from "../core/errors.ts";
import { requireAgent, requireThread, type HandlerContext } from "./context.ts";

export async function getThread(hc: HandlerContext, params: RequestParams<"threads.get_by_id">): Promise<JsonText> {
  const thread = await requireThread(hc, params.thread_id);
  const items = await hc.store.items.listJson(hc.owner, thread.id, { limit: DEFAULT_PAGE_SIZE, order: "asc" });
  const fresh = items.rows.map((item) => hc.services.attachments.withFreshPreviewUrlsInJson(item, () => hc.publicBaseUrl));
  return threadJson(thread, pageJson(fresh, items.hasMore));
}

export async function listThreads(hc: HandlerContext, params: RequestParams<"threads.list">): Promise<JsonText> {
  const agent = requireAgent(hc);
  const page = await hc.store.threads.listJson(hc.owner, {
    agentId: agent.id,
    limit: params.limit ?? DEFAULT_PAGE_SIZE,
    order: params.order,
    after: params.after,
  });
  return threadPageJson(page.rows, page.hasMore);
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
