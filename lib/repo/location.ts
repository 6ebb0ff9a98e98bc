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
