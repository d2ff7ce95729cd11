import type { Attachment } from "../protocol/items.ts";
import type { RequestParams } from "../protocol/requests.ts";
import type { HandlerContext } from "./context.ts";

/** `attachments.create`: a pending attachment whose `upload_descriptor` says where to send the bytes. */
export async function createAttachment(hc: HandlerContext, params: RequestParams<"attachments.create">): Promise<Attachment> {
  const row = await hc.services.attachments.createPending(hc.owner, params);
  return hc.services.attachments.toWire(row, hc.publicBaseUrl);
}

/** `attachments.delete`: removes the row and the file; another user's id is a 404. */
export async function deleteAttachment(hc: HandlerContext, params: RequestParams<"attachments.delete">): Promise<Record<string, never>> {
  await hc.services.attachments.delete(hc.owner, params.attachment_id);
  return {};
}
