// Test-only: the RADOS Gateway settings that `npm test` exports. Suites that need S3 call this in
// beforeAll, so without the variables they FAIL with a message saying what to set; they never skip.
import {
  AbortMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client,
} from '@aws-sdk/client-s3';

const REQUIRED = ['LIFEBOAT_TEST_S3_ENDPOINT', 'LIFEBOAT_TEST_S3_ACCESS_KEY_ID', 'LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY'] as const;

export function s3TestEnv(what = 'these S3 tests'): { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${what} need a RADOS Gateway: set ${missing.join(', ')} (and optionally LIFEBOAT_TEST_S3_REGION). ` +
        'The project test runner (npm test) starts one and sets them; these tests never skip.',
    );
  }
  return {
    endpoint: process.env.LIFEBOAT_TEST_S3_ENDPOINT!,
    region: process.env.LIFEBOAT_TEST_S3_REGION || 'us-east-1',
    accessKeyId: process.env.LIFEBOAT_TEST_S3_ACCESS_KEY_ID!,
    secretAccessKey: process.env.LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY!,
  };
}

/** Test clean-up: aborts incomplete uploads, deletes every object, then the bucket itself. */
export async function deleteTestBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  for (const u of uploads) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
