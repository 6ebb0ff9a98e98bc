/**
 * openBlobStore: the ONE place that turns a storage configuration into a ready BlobStore and stacks the
 * decorators: implementation -> withMetrics (counts every attempt, so retried failures are visible) ->
 * withRetries (transient errors only) -> withReadOnly (outermost, when asked: refused writes touch nothing).
 *
 * The configuration is validated with blobStoreConfigSchema (zod, discriminated on `kind`); an invalid one
 * rejects with PermanentBlobError naming each bad field, never echoing values (secrets stay out of
 * messages). Returned objects are independent; the store is safe for concurrent use; call close() when done.
 */
import { z } from 'zod';
import { PermanentBlobError } from './errors';
import { validatePrefix } from './keys';
import { LocalBlobStore } from './local';
import { createBlobMetrics, withMetrics, type BlobMetrics } from './metrics';
import { withReadOnly } from './readonly';
import { retryTransient, withRetries, type RetryOptions } from './retrying';
import { LazyS3BlobStore } from './s3-lazy';
import type { BlobStore } from './types';

const isValidPrefix = (p: string) => {
  try {
    validatePrefix(p);
    return !p.startsWith('/');
  } catch {
    return false;
  }
};

export const localBlobStoreConfigSchema = z.object({
  kind: z.literal('local'),
  path: z.string().min(1, 'path is required: the directory holding the repository'),
});

export const s3BlobStoreConfigSchema = z.object({
  kind: z.literal('s3'),
  endpoint: z.url({ protocol: /^https?$/, error: 'endpoint must be an http(s) URL such as http://127.0.0.1:7480' }).optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'bucket must be 3-63 characters of lowercase letters, digits, dots and hyphens'),
  prefix: z.string().default('').refine(isValidPrefix, 'prefix must be a relative key prefix such as "lifeboat/prod"'),
  accessKeyId: z.string().min(1, 'accessKeyId is required'),
  secretAccessKey: z.string().min(1, 'secretAccessKey is required'),
  forcePathStyle: z.boolean().optional(),
  storageClass: z.string().min(1).optional(),
  /** PEM certificates to trust for an https endpoint with a private CA or a self-signed certificate. */
  caBundle: z.string().includes('BEGIN CERTIFICATE', { error: 'caBundle must hold PEM certificates' }).optional(),
});

export const blobStoreConfigSchema = z.discriminatedUnion('kind', [localBlobStoreConfigSchema, s3BlobStoreConfigSchema]);

/** A parsed configuration (defaults applied). */
export type BlobStoreConfig = z.output<typeof blobStoreConfigSchema>;
/** What callers may pass (defaults optional). */
export type BlobStoreConfigInput = z.input<typeof blobStoreConfigSchema>;

export interface OpenBlobStoreOptions {
  /** Retry policy; false disables retrying (default: withRetries defaults). */
  retry?: RetryOptions | false;
  /** Metrics object to fill (default: a new one, returned). */
  metrics?: BlobMetrics;
  readOnly?: boolean;
  /** Local stores only: skip fsync (tests). */
  fsync?: boolean;
}

export interface OpenedBlobStore {
  /** The decorated store every caller should use. */
  store: BlobStore;
  metrics: BlobMetrics;
  config: BlobStoreConfig;
  /** Creates the directory or bucket if missing (retried like the store's operations). */
  ensureExists(signal?: AbortSignal): Promise<void>;
  /** Releases sockets (S3). */
  close(): void;
}

/** Parses a configuration, throwing PermanentBlobError with a readable list of problems. */
export function parseBlobStoreConfig(input: unknown): BlobStoreConfig {
  const parsed = blobStoreConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new PermanentBlobError(`invalid storage configuration:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export function openBlobStore(input: BlobStoreConfigInput, options: OpenBlobStoreOptions = {}): OpenedBlobStore {
  const config = parseBlobStoreConfig(input);
  const metrics = options.metrics ?? createBlobMetrics();
  let raw: BlobStore;
  let ensureExists: (signal?: AbortSignal) => Promise<void>;
  let close = () => {};
  if (config.kind === 'local') {
    const local = new LocalBlobStore(config.path, { fsync: options.fsync });
    raw = local;
    ensureExists = () => local.ensureExists();
  } else {
    const { kind: _kind, ...s3config } = config;
    const s3 = new LazyS3BlobStore(s3config); // the AWS SDK loads with the first request
    raw = s3;
    ensureExists = (signal) => options.retry === false
      ? s3.ensureBucket({ signal })
      : retryTransient('ensureBucket', '', () => s3.ensureBucket({ signal }), options.retry, signal);
    close = () => s3.destroy();
  }
  let store = withMetrics(raw, { metrics });
  if (options.retry !== false) store = withRetries(store, options.retry ?? {});
  if (options.readOnly) store = withReadOnly(store);
  return { store, metrics, config, ensureExists, close };
}
