import type { ChatkitConfig } from "../config/schema.ts";
import { AttachmentFiles, type AttachmentStorage } from "./files.ts";
import { S3AttachmentStorage } from "./s3-storage.ts";

export type { AttachmentStorage } from "./files.ts";

/** The configured place for attachment bytes: the data dir, or an S3-compatible bucket. */
export function attachmentStorageFor(config: Pick<ChatkitConfig, "dataDir" | "storage">): AttachmentStorage {
  return config.storage.type === "s3" ? new S3AttachmentStorage(config.storage) : new AttachmentFiles(config.dataDir);
}
