import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3StorageConfig } from "../config/schema.ts";
import { checkedAttachmentId, type AttachmentStorage } from "./files.ts";

/** Parts of a multipart upload: S3's smallest; an upload holds at most one in memory at a time. */
const PART_BYTES = 5 * 1024 * 1024;

/** The SDK, loaded on first use: a box on its data dir never pays for loading it at start-up. */
const sdk = async () => ({ ...(await import("@aws-sdk/client-s3")), Upload: (await import("@aws-sdk/lib-storage")).Upload });

/** S3's errors carry the HTTP status in `$metadata`. */
const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isMissing = (error: unknown) => {
  const name = (error as Error).name;
  return name === "NoSuchKey" || name === "NotFound" || statusOf(error) === 404;
};

/**
 * Attachment bytes in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph…), one object per
 * attachment under `prefix`, so every server behind a load balancer sees the same files.
 * Credentials come from the config, else the AWS SDK's usual chain (AWS_ACCESS_KEY_ID…).
 */
export class S3AttachmentStorage implements AttachmentStorage {
  private client: Promise<S3Client> | undefined;
  private readonly bucket: string;
  private readonly prefix: string;
  readonly description: string;

  constructor(private readonly config: S3StorageConfig) {
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.description = `s3://${config.bucket}/${config.prefix}${config.endpoint ? ` at ${config.endpoint}` : ""}`;
  }

  private s3(): Promise<S3Client> {
    const config = this.config;
    this.client ??= sdk().then(
      ({ S3Client }) =>
        new S3Client({
          region: config.region,
          forcePathStyle: config.forcePathStyle,
          ...(config.endpoint ? { endpoint: config.endpoint } : {}),
          ...(config.accessKeyId && config.secretAccessKey
            ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
            : {}),
          // Checksums only where S3 requires them: the SDK's default streaming checksums (aws-chunked
          // bodies with trailers) are not understood by many S3-compatible servers.
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED",
        }),
    );
    return this.client;
  }

  private key(attachmentId: string): string {
    return `${this.prefix}${checkedAttachmentId(attachmentId)}`;
  }

  /**
   * Streams the body to the bucket: one PUT when it fits a part, else a multipart upload with
   * one part in memory at a time. If the body throws (a limit hit mid-stream) the upload is
   * aborted, so neither an object nor orphaned parts remain.
   */
  async write(attachmentId: string, body: AsyncIterable<Buffer>): Promise<number> {
    let size = 0;
    let bodyError: unknown;
    const counted = Readable.from(
      (async function* () {
        try {
          for await (const chunk of body) {
            size += chunk.length;
            yield chunk;
          }
        } catch (error) {
          bodyError = error;
          throw error;
        }
      })(),
    );
    const { Upload } = await sdk();
    const upload = new Upload({
      client: await this.s3(),
      params: { Bucket: this.bucket, Key: this.key(attachmentId), Body: counted, ContentType: "application/octet-stream" },
      partSize: PART_BYTES,
      queueSize: 1,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      // The body's own error (413, 415, a client gone) is the one the caller must see.
      throw bodyError ?? error;
    }
    return size;
  }

  async open(attachmentId: string): Promise<{ size: number; stream: Readable } | undefined> {
    try {
      const { GetObjectCommand } = await sdk();
      const object = await (await this.s3()).send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(attachmentId) }));
      return { size: object.ContentLength ?? 0, stream: object.Body as Readable };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Reads the object's stream up to `maxBytes` and hangs up on the rest (no Range: not every server handles it well). */
  async read(attachmentId: string, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean } | undefined> {
    const opened = await this.open(attachmentId);
    if (!opened) return undefined;
    const parts: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
        parts.push(chunk);
        length += chunk.length;
        if (length >= maxBytes) break;
      }
    } finally {
      opened.stream.destroy();
    }
    return { bytes: Buffer.concat(parts).subarray(0, maxBytes), truncated: opened.size > maxBytes };
  }

  async remove(attachmentIds: string[]): Promise<void> {
    // One DELETE per object: DeleteObjects needs a checksum header that not every S3-compatible server accepts.
    const [{ DeleteObjectCommand }, client] = await Promise.all([sdk(), this.s3()]);
    await Promise.all(attachmentIds.map((id) => client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(id) }))));
  }

  /** Aborts multipart uploads under the prefix started before `cutoff`: what a crashed server left. */
  async removeStale(cutoff: number): Promise<number> {
    const [{ ListMultipartUploadsCommand, AbortMultipartUploadCommand }, client] = await Promise.all([sdk(), this.s3()]);
    let listed;
    try {
      listed = await client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix }));
    } catch (error) {
      // Servers without this call: the bucket's lifecycle rule (see the README) cleans up instead.
      if (statusOf(error) === 501) return 0;
      throw error;
    }
    const stale = (listed.Uploads ?? []).filter((upload) => upload.Initiated && upload.Initiated.getTime() < cutoff);
    for (const upload of stale) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
    }
    return stale.length;
  }

  async check(): Promise<void> {
    const { HeadBucketCommand } = await sdk();
    await (await this.s3()).send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
