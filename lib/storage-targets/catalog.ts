// Storage targets in the catalog. The secret access key is sealed before it is stored and is never part of
// what list/get return; only blobConfigFor (used by the worker) opens it.
import type { Db } from '../db/client';
import type { StorageTarget } from '../db/generated/client';
import { openSecret, sealSecret } from '../secrets/secret-box';
import type { z } from 'zod';
import { s3TargetInput, storageTargetInput } from './schema';
import type { BlobStoreConfig } from '../blob';

export type PublicStorageTarget = {
  id: string;
  name: string;
  kind: 's3' | 'local';
  role: 'primary' | 'replica' | 'archive';
  location: string;
  region: string | null;
  isDefault: boolean;
  lastCheckAt: string | null;
  lastCheckOk: boolean | null;
  lastCheckLatencyMs: number | null;
  lastCheckError: string | null;
};

export function toPublic(t: StorageTarget): PublicStorageTarget {
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    role: t.role,
    location: describeLocation(t),
    region: t.region,
    isDefault: t.isDefault,
    lastCheckAt: t.lastCheckAt?.toISOString() ?? null,
    lastCheckOk: t.lastCheckOk,
    lastCheckLatencyMs: t.lastCheckLatencyMs,
    lastCheckError: t.lastCheckError,
  };
}

export function describeLocation(t: Pick<StorageTarget, 'kind' | 'endpoint' | 'bucket' | 'prefix' | 'path'>): string {
  if (t.kind === 'local') return t.path ?? '';
  const where = t.endpoint ? t.endpoint.replace(/\/$/, '') : 'AWS S3';
  return `${where} s3://${t.bucket}${t.prefix ? '/' + t.prefix : ''}`;
}

export async function listStorageTargets(db: Db): Promise<PublicStorageTarget[]> {
  const rows = await db.storageTarget.findMany({ orderBy: [{ isDefault: 'desc' }, { name: 'asc' }] });
  return rows.map(toPublic);
}

export async function createStorageTarget(db: Db, raw: unknown, secretKey: string): Promise<PublicStorageTarget> {
  const input = storageTargetInput.parse(raw);
  const row =
    input.kind === 'local'
      ? await db.storageTarget.create({ data: { name: input.name, kind: 'local', role: input.role, path: input.path } })
      : await db.storageTarget.create({ data: { name: input.name, ...s3Columns(input, secretKey) } });
  return toPublic(row);
}

/** Catalog columns of a validated S3 target, its secret key sealed. */
export function s3Columns(input: z.output<typeof s3TargetInput>, secretKey: string) {
  return {
    kind: 's3' as const,
    role: input.role,
    endpoint: input.endpoint || null,
    region: input.region,
    bucket: input.bucket,
    prefix: input.prefix.replace(/\/+$/, ''),
    forcePathStyle: input.forcePathStyle,
    storageClass: input.storageClass || null,
    accessKeyId: input.accessKeyId,
    secretAccessKeyEnc: sealSecret(input.secretAccessKey, secretKey),
  };
}

/** The blob-store configuration for a target, secrets opened. Worker-side only. */
export function blobConfigFor(t: StorageTarget, secretKey: string): BlobStoreConfig {
  if (t.kind === 'local') return { kind: 'local', path: t.path ?? '' };
  return {
    kind: 's3',
    endpoint: t.endpoint ?? undefined,
    region: t.region ?? 'us-east-1',
    bucket: t.bucket ?? '',
    prefix: t.prefix,
    accessKeyId: t.accessKeyId ?? '',
    secretAccessKey: t.secretAccessKeyEnc ? openSecret(t.secretAccessKeyEnc, secretKey) : '',
    forcePathStyle: t.forcePathStyle,
    storageClass: t.storageClass ?? undefined,
  };
}
