import type { Page, ThreadItem } from "../protocol/items.ts";
import { DEFAULT_PAGE_SIZE, type RequestParams } from "../protocol/requests.ts";
import { toPage } from "../protocol/serialize.ts";
import { ChatkitError } from "../core/errors.ts";
import { requireThread, type HandlerContext } from "./context.ts";

export async function listItems(hc: HandlerContext, params: RequestParams<"items.list">): Promise<Page<ThreadItem>> {
  const thread = await requireThread(hc, params.thread_id);
  const page = await hc.store.items.list(hc.owner, thread.id, {
    limit: params.limit ?? DEFAULT_PAGE_SIZE,
    order: params.order,
    after: params.after,
  });
  const items = page.rows.map((item) => hc.services.attachments.withFreshPreviewUrls(item, hc.publicBaseUrl));
  return toPage(items, page.hasMore);
}

export async function addFeedback(hc: HandlerContext, params: RequestParams<"items.feedback">): Promise<Record<string, never>> {
  const thread = await requireThread(hc, params.thread_id);
  const stored = await hc.store.items.addFeedback(hc.owner, thread.id, params.item_ids, params.kind);
  if (!stored) throw new ChatkitError(404, "item_not_found");
  return {};
}
