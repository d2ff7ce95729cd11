import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
// @ts-expect-error s3rver ships no types; used only here.
import S3rver from "s3rver";
import type { S3StorageConfig } from "../../src/config/schema.ts";

/**
 * An S3-compatible server on loopback for the storage tests: s3rver (from npm, a dev
 * dependency) keeping objects in a temp folder and checking request signatures with its fixed
 * test credentials. Nothing is downloaded at run time.
 */
export interface FakeS3 {
  /** The `storage` config section that points the app at the bucket. */
  storage: S3StorageConfig;
  /** Every object key in the bucket, sorted. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startFakeS3(bucket = "chatkit-test"): Promise<FakeS3> {
  const directory = mkdtempSync(path.join(tmpdir(), "chatkit-s3-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = (await server.run()) as { port: number };
  const storage: S3StorageConfig = {
    type: "s3",
    bucket,
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    prefix: "attachments/",
    forcePathStyle: true,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  };
  const client = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  return {
    storage,
    async keys() {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key!).sort();
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
