/**
 * Where an S3 store's objects live, worked out from its configuration alone (no AWS SDK): the key prefix
 * with its trailing '/', and the description that names the store in messages. Shared by S3BlobStore and
 * LazyS3BlobStore, which must describe the store before the SDK is loaded.
 */
import { validatePrefix } from './keys';

/** The configured prefix as keys start with it: "" or "a/b/" (throws InvalidBlobKeyError when malformed). */
export function keyPrefix(prefix: string | undefined): string {
  const p = validatePrefix(prefix ?? '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** "s3://bucket/prefix/ at http://host:port" (or "at AWS region"); never secrets. */
export function describeS3(cfg: { bucket: string; prefix?: string; endpoint?: string; region: string }): string {
  return `s3://${cfg.bucket}/${keyPrefix(cfg.prefix)} at ${cfg.endpoint ?? `AWS ${cfg.region}`}`;
}
