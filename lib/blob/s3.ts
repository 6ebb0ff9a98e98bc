/**
 * S3BlobStore: a BlobStore over an S3-compatible bucket (AWS S3, Ceph RADOS Gateway, ...).
 *
 * Guarantees (see types.ts for the shared contract):
 * - Buffers up to partSize go up in one PutObject; streams and larger Buffers through lib-storage Upload
 *   (8 MiB parts, 4 in flight, so memory stays ~32 MiB per upload whatever the size). A failed or aborted
 *   upload never leaves an incomplete multipart upload behind: after the Upload settles, the upload id it
 *   created is aborted again (idempotent). In-flight parts finish before an abort completes.
 * - Client settings for non-AWS endpoints follow PLATFORM.md: path-style addressing when an endpoint is
 *   given, checksums only WHEN_REQUIRED. Callers verify content hashes end to end.
 * - get checks the server honoured the range (Content-Range) and that the stream delivers every byte.
 * - All keys live under the configured prefix; list strips it again.
 * - abortStaleMultipartUploads cleans up after writers that died mid-upload (kill -9 skips the abort above):
 *   it aborts only uploads under the prefix initiated more than a given age ago, never recent ones, which
 *   another live writer may own.
 * Errors: every SDK failure goes through translateError (s3-errors.ts); aborts reject with signal.reason,
 * and the AbortSignal is handed to the SDK so requests stop at once. The SDK makes one attempt by default
 * (sdkMaxAttempts): retrying is the retrying decorator's job, and two nested retry loops multiplied the
 * time to give up on a dead endpoint (3 x 5 attempts x a 10 s connect timeout = 150 s). Timeouts: 5 s to
 * connect, 30 s without a byte on an open socket.
 * Concurrency: one S3Client per store, safe for concurrent calls; call destroy() to release sockets.
 */
import https from 'node:https';
import tls from 'node:tls';
import {
  AbortMultipartUploadCommand, type BucketLocationConstraint, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type StorageClass,
} from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import { commonJsExports } from '../lazy-package';
import { Readable } from 'node:stream';
import { InvalidRangeError, PermanentBlobError, TransientBlobError, isNotFound, type BlobOp } from './errors';
import { allowManyAbortListeners, guardStream, openBody, withAbortSignal } from './io';
import { validateKey, validatePrefix } from './keys';
import { translateError } from './s3-errors';
import { describeS3, keyPrefix } from './s3-location';
import type {
  BlobBody, BlobListEntry, BlobMetadata, BlobStore, DeleteOptions, GetOptions, HeadOptions, ListOptions,
  PutOptions, PutResult,
} from './types';

export interface S3BlobStoreConfig {
  /** e.g. http://127.0.0.1:7480; omit for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket ("" or e.g. "lifeboat/prod"; a trailing '/' is added). */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Default: true when an endpoint is given, else false. */
  forcePathStyle?: boolean;
  /** Default storage class for puts. */
  storageClass?: string;
  partSize?: number;
  queueSize?: number;
  /** Attempts the SDK makes per request before giving up (default 1: the retrying decorator retries). */
  sdkMaxAttempts?: number;
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** PEM certificates trusted for an https endpoint (in addition to the system's), e.g. a private CA. */
  caBundle?: string;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly description: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly storageClass: string | undefined;
  private readonly locationConstraint: string | undefined;

  constructor(cfg: S3BlobStoreConfig) {
    this.bucket = cfg.bucket;
    this.prefix = keyPrefix(cfg.prefix);
    this.partSize = cfg.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = cfg.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.storageClass = cfg.storageClass;
    this.description = describeS3(cfg);
    // AWS wants the region spelled out when creating a bucket outside us-east-1; other servers
    // (RADOS Gateway) reject constraints that are not their zonegroup's name, so send none to them.
    this.locationConstraint = cfg.endpoint === undefined && cfg.region !== 'us-east-1' ? cfg.region : undefined;
    this.client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.forcePathStyle ?? cfg.endpoint !== undefined,
      credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: cfg.sdkMaxAttempts ?? 1,
      requestHandler: {
        connectionTimeout: cfg.connectionTimeoutMs ?? 5_000,
        socketTimeout: cfg.socketTimeoutMs ?? 30_000,
        // An Agent instance, not options: for 100-continue uploads the SDK replaces an agent it made itself
        // with a fresh default one, which would not trust the bundle.
        ...(cfg.caBundle ? { httpsAgent: new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates, cfg.caBundle] }) } : {}),
      },
    });
  }

  describe(): string {
    return this.description;
  }

  /** Releases the client's sockets. The store must not be used afterwards. */
  destroy(): void {
    this.client.destroy();
  }

  /** Creates the bucket if it does not exist yet (no-op when it does and is ours). */
  async ensureBucket(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const Bucket = this.bucket;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket }), { abortSignal: opts.signal });
      return;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw this.fail(err, 'ensureBucket', undefined, opts.signal);
    }
    try {
      const CreateBucketConfiguration = this.locationConstraint
        ? { LocationConstraint: this.locationConstraint as BucketLocationConstraint }
        : undefined;
      await this.client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration }), { abortSignal: opts.signal });
    } catch (err) {
      if ((err as { name?: string }).name === 'BucketAlreadyOwnedByYou') return;
      throw this.fail(err, 'ensureBucket', undefined, opts.signal);
    }
  }

  async put(key: string, body: BlobBody, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.fullKey(key);
    const { signal } = opts;
    signal?.throwIfAborted();
    const opened = openBody(key, body, opts.contentLength);
    const StorageClass = (opts.storageClass ?? this.storageClass) as StorageClass | undefined;
    try {
      if (opened.kind === 'buffer' && opened.buffer.length <= this.partSize) {
        const { buffer } = opened;
        const res = await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: buffer, ContentLength: buffer.length, StorageClass }),
          { abortSignal: signal },
        );
        return { size: buffer.length, etag: res.ETag };
      }
      const Body = opened.kind === 'buffer' ? opened.buffer : opened.stream;
      const etag = await this.upload(Key, Body, StorageClass, opened.kind === 'stream' ? opened.stream : undefined, signal);
      return { size: opened.kind === 'buffer' ? opened.buffer.length : opened.bytes(), etag };
    } catch (err) {
      if (opened.kind === 'stream') opened.stream.destroy();
      const bodyErr = opened.kind === 'stream' ? opened.bodyError() : undefined;
      if (bodyErr && !signal?.aborted) throw bodyErr;
      throw this.fail(err, 'put', key, signal);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const Key = this.fullKey(key);
    const { signal, range } = opts;
    signal?.throwIfAborted();
    if (signal) allowManyAbortListeners(signal);
    if (range) {
      const { offset, length } = range;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw this.badRange(key, `range offset ${offset} length ${length} is not a pair of non-negative integers`);
      }
      if (length === 0) {
        const { size } = await this.head(key, { signal });
        if (offset > size) throw this.badRange(key, `range offset ${offset} is beyond the end of the blob (size ${size})`);
        return Readable.from([]);
      }
    }
    const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }), { abortSignal: signal });
    } catch (err) {
      throw this.fail(err, 'get', key, signal);
    }
    const body = res.Body as unknown;
    if (!(body instanceof Readable)) throw new PermanentBlobError(`get "${key}" on ${this.describe()}: no body stream`, { key, op: 'get' });
    const expected = range ? range.length : (res.ContentLength ?? 0);
    if (range && (!res.ContentRange?.startsWith(`bytes ${range.offset}-`) || (res.ContentLength ?? 0) !== range.length)) {
      body.destroy();
      if (!res.ContentRange) {
        throw new PermanentBlobError(`get "${key}" on ${this.describe()}: the endpoint ignored the Range header`, { key, op: 'get' });
      }
      throw this.badRange(key, `range offset ${range.offset} length ${range.length} is outside the blob (${res.ContentRange})`);
    }
    const out = guardStream(body, {
      mapError: (err) => translateError(err, this.ctx('get', key)),
      onEnd: (n) => n === expected ? undefined
        : new TransientBlobError(`get "${key}" on ${this.describe()}: received ${n} of ${expected} bytes`, { key, op: 'get' }),
    });
    return signal ? withAbortSignal(signal, out) : out;
  }

  async head(key: string, opts: HeadOptions = {}): Promise<BlobMetadata> {
    const Key = this.fullKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }), { abortSignal: opts.signal });
      return {
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified ?? new Date(0),
        etag: res.ETag,
        storageClass: res.StorageClass,
      };
    } catch (err) {
      throw this.fail(err, 'head', key, opts.signal);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncGenerator<BlobListEntry> {
    validatePrefix(prefix);
    const { signal } = opts;
    let token: string | undefined;
    const startAfter = opts.startAfter === undefined ? undefined : this.prefix + opts.startAfter;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken: token,
          StartAfter: token === undefined ? startAfter : undefined,
        }), { abortSignal: signal });
      } catch (err) {
        throw this.fail(err, 'list', prefix, signal);
      }
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined) continue;
        yield { key: obj.Key.slice(this.prefix.length), size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }), { abortSignal: opts.signal });
    } catch (err) {
      const translated = this.fail(err, 'delete', key, opts.signal);
      if (!isNotFound(translated)) throw translated;
    }
  }

  /**
   * Aborts the incomplete multipart uploads under this store's prefix (and `under`, a key prefix relative to
   * it) that were initiated more than `olderThanMs` before `now` (default: the current time; the server's
   * Initiated timestamps are compared with it, so keep clocks roughly in sync). Younger uploads, and uploads
   * without an Initiated time, are left alone: a writer that is still running may own them. An upload that
   * vanishes meanwhile (NoSuchUpload) counts as gone. Returns the relative keys aborted and how many were kept.
   * Errors: translated storage errors (listing failures as op "list", abort failures as op "delete").
   */
  async abortStaleMultipartUploads(
    olderThanMs: number, opts: { now?: Date; under?: string; signal?: AbortSignal } = {},
  ): Promise<{ aborted: { key: string; initiated: Date }[]; kept: number }> {
    if (!(olderThanMs >= 0)) throw new RangeError(`olderThanMs must be a non-negative number, got ${olderThanMs}`);
    const { signal } = opts;
    const Prefix = this.prefix + validatePrefix(opts.under ?? '');
    const cutoff = (opts.now ?? new Date()).getTime() - olderThanMs;
    const aborted: { key: string; initiated: Date }[] = [];
    let kept = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix, KeyMarker, UploadIdMarker }), { abortSignal: signal });
      } catch (err) {
        throw this.fail(err, 'list', opts.under ?? '', signal);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const initiated = u.Initiated;
        if (!initiated || initiated.getTime() > cutoff) {
          kept++;
          continue;
        }
        const key = u.Key.slice(this.prefix.length);
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }), { abortSignal: signal });
        } catch (err) {
          if ((err as { name?: string }).name !== 'NoSuchUpload') throw this.fail(err, 'delete', key, signal);
        }
        aborted.push({ key, initiated });
      }
      if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) break;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
    return { aborted, kept };
  }

  /** Streams Body through lib-storage Upload; on failure makes sure no multipart upload is left behind. */
  private async upload(
    Key: string, Body: Buffer | Readable, StorageClass: StorageClass | undefined, source: Readable | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    // lib-storage is loaded on the first upload that needs it: most commands never make one.
    const { Upload } = commonJsExports(await import('@aws-sdk/lib-storage'));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body, StorageClass },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      source?.destroy();
      void upload.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await upload.done();
      return res.ETag;
    } catch (err) {
      source?.destroy();
      await this.abandon(upload, Key);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Waits for the Upload's part uploaders to settle, then aborts the multipart upload it created, if any. */
  private async abandon(upload: Upload, Key: string): Promise<void> {
    const uploaders = (upload as unknown as { concurrentUploaders?: unknown }).concurrentUploaders;
    if (Array.isArray(uploaders)) await Promise.allSettled(uploaders);
    const UploadId = upload.uploadId;
    if (!UploadId) return;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {
      // NoSuchUpload: Upload already aborted it. Anything else: a lifecycle rule must clean up.
    });
  }

  private fullKey(key: string): string {
    return this.prefix + validateKey(key);
  }

  private ctx(op: BlobOp, key: string | undefined) {
    return { op, key, store: this.describe(), bucket: this.bucket };
  }

  private fail(err: unknown, op: BlobOp, key: string | undefined, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    return translateError(err, this.ctx(op, key));
  }

  private badRange(key: string, what: string): InvalidRangeError {
    return new InvalidRangeError(`get "${key}" on ${this.describe()}: ${what}`, { key, op: 'get', store: this.describe() });
  }
}
