/**
 * LazyS3BlobStore: an S3BlobStore whose module (and with it the AWS SDK) is imported on the first request.
 * The SDK is ~1.4 MB of the CLI bundle, ~0.1 s of compiling and evaluating on a 2-core VM: a command on a
 * local repository never pays it; one on S3 pays it at its first request instead of at start. Same contract
 * as S3BlobStore; describe() works without loading.
 */
import type { Readable } from 'node:stream';
import type { S3BlobStore, S3BlobStoreConfig } from './s3';
import { describeS3 } from './s3-location';
import type {
  BlobBody, BlobListEntry, BlobMetadata, BlobStore, DeleteOptions, GetOptions, HeadOptions, ListOptions,
  PutOptions, PutResult,
} from './types';

export class LazyS3BlobStore implements BlobStore {
  private loading: Promise<S3BlobStore> | undefined;
  private destroyed = false;

  constructor(private readonly cfg: S3BlobStoreConfig) {}

  /** The real store, created once. */
  load(): Promise<S3BlobStore> {
    this.loading ??= import('./s3').then(({ S3BlobStore }) => {
      const store = new S3BlobStore(this.cfg);
      if (this.destroyed) store.destroy(); // closed while loading: later calls fail as on a destroyed client
      return store;
    });
    return this.loading;
  }

  async put(key: string, body: BlobBody, opts?: PutOptions): Promise<PutResult> {
    return (await this.load()).put(key, body, opts);
  }

  async get(key: string, opts?: GetOptions): Promise<Readable> {
    return (await this.load()).get(key, opts);
  }

  async head(key: string, opts?: HeadOptions): Promise<BlobMetadata> {
    return (await this.load()).head(key, opts);
  }

  async *list(prefix: string, opts?: ListOptions): AsyncGenerator<BlobListEntry> {
    yield* (await this.load()).list(prefix, opts);
  }

  async delete(key: string, opts?: DeleteOptions): Promise<void> {
    return (await this.load()).delete(key, opts);
  }

  async ensureBucket(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return (await this.load()).ensureBucket(opts);
  }

  describe(): string {
    return describeS3(this.cfg);
  }

  /** Releases the client's sockets (nothing to release when it never loaded). */
  destroy(): void {
    this.destroyed = true;
    void this.loading?.then((store) => store.destroy(), () => {});
  }
}
