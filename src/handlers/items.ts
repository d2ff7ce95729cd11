import { DEFAULT_PAGE_SIZE, type RequestParams } from "../protocol/requests.ts";
import { pageJson, JsonText } from "../protocol/serialize.ts";
import { ChatkitError } from "../core/errors.ts";
import { requireThread, type HandlerContext } from "./context.ts";

export async function listItems(hc: HandlerContext, params: RequestParams<"items.list">): Promise<JsonText> {
  const page = await hc.store.items.listJson(hc.owner, params.thread_id, {
    limit: params.limit ?? DEFAULT_PAGE_SIZE,
    order: params.order,
    after: params.after,
    agentId: hc.agent?.id,
  });
  // The page read checks the thread is the caller's (and the agent's); only an empty page may mean it is not.
  if (page.rows.length === 0) await requireThread(hc, params.thread_id);
  const items = page.rows.map((item) => hc.services.attachments.withFreshPreviewUrlsInJson(item, () => hc.publicBaseUrl));
  return new JsonText(pageJson(items, page.hasMore));
}

export async function addFeedback(hc: HandlerContext, params: RequestParams<"items.feedback">): Promise<Record<string, never>> {
  const thread = await requireThread(hc, params.thread_id);
  const stored = await hc.store.items.addFeedback(hc.owner, thread.id, params.item_ids, params.kind);
  if (!stored) throw new ChatkitError(404, "item_not_found");
  return {};
}
