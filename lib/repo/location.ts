// Where a repository lives, from the CLI's point of view: LIFEBOAT_REPOSITORY (or --repo) is either
// s3://bucket[/prefix] (endpoint, region and keys from options or the environment) or a local directory
// path. Turns that into a blob-store configuration; every missing or malformed piece is named.
// LIFEBOAT_S3_CA_FILE names PEM certificates to trust for an https endpoint (private CA, self-signed).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BlobStoreConfigInput } from '../blob';

export type LocationOptions = {
  repository?: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  pathStyle?: boolean;
};

type Env = Record<string, string | undefined>;

export class LocationError extends Error {
  name = 'LocationError';
}

export function repositoryLocation(opts: LocationOptions, env: Env = process.env): BlobStoreConfigInput {
  const spec = opts.repository ?? env.LIFEBOAT_REPOSITORY;
  if (!spec) throw new LocationError('no repository given: set LIFEBOAT_REPOSITORY or pass --repo (s3://bucket/prefix or a directory)');
  if (!spec.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new LocationError(`repository "${spec}" has an unsupported scheme: expected s3://bucket/prefix or a directory path`);
    return { kind: 'local', path: resolve(spec) };
  }
  const [bucket = '', ...rest] = spec.slice('s3://'.length).split('/');
  if (!bucket) throw new LocationError(`repository "${spec}" has no bucket: expected s3://bucket/prefix`);
  const accessKeyId = opts.accessKeyId ?? env.LIFEBOAT_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = opts.secretAccessKey ?? env.LIFEBOAT_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId) throw new LocationError('no S3 access key: set LIFEBOAT_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID)');
  if (!secretAccessKey) throw new LocationError('no S3 secret key: set LIFEBOAT_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY)');
  const endpoint = opts.endpoint ?? env.LIFEBOAT_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? undefined;
  let caBundle: string | undefined;
  if (env.LIFEBOAT_S3_CA_FILE) {
    try {
      caBundle = readFileSync(env.LIFEBOAT_S3_CA_FILE, 'utf8');
    } catch (err) {
      throw new LocationError(`cannot read LIFEBOAT_S3_CA_FILE ${env.LIFEBOAT_S3_CA_FILE}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return {
    kind: 's3',
    bucket,
    prefix: rest.filter(Boolean).join('/'),
    endpoint: endpoint || undefined,
    region: opts.region ?? env.LIFEBOAT_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: opts.pathStyle ?? (env.LIFEBOAT_S3_FORCE_PATH_STYLE ?? (endpoint ? 'true' : 'false')) !== 'false',
    ...(caBundle ? { caBundle } : {}),
  };
}

/**
 * The inverse of repositoryLocation: the environment variables that make a child `lifeboat` (restore_command's
 * wal-fetch) open the same repository. Holds the S3 secret key: callers write it to a 0600 file only.
 */
export function repositoryEnv(config: BlobStoreConfigInput, env: Env = process.env): Record<string, string> {
  if (config.kind === 'local') return { LIFEBOAT_REPOSITORY: resolve(config.path) };
  const out: Record<string, string> = {
    LIFEBOAT_REPOSITORY: `s3://${config.bucket}${config.prefix ? `/${config.prefix}` : ''}`,
    LIFEBOAT_S3_REGION: config.region ?? 'us-east-1',
    LIFEBOAT_S3_ACCESS_KEY_ID: config.accessKeyId,
    LIFEBOAT_S3_SECRET_ACCESS_KEY: config.secretAccessKey,
    LIFEBOAT_S3_FORCE_PATH_STYLE: String(config.forcePathStyle ?? true),
  };
  if (config.endpoint) out.LIFEBOAT_S3_ENDPOINT = config.endpoint;
  if (env.LIFEBOAT_S3_CA_FILE) out.LIFEBOAT_S3_CA_FILE = resolve(env.LIFEBOAT_S3_CA_FILE);
  return out;
}
