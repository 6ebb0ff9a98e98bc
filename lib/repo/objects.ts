// Sealed JSON objects (index files, snapshots, locks): JSON -> payload encoding -> sealed box, stored under
// <dir>/<id> where id = SHA-256 of the stored bytes. Loading checks that hash before decrypting, so a
// swapped or corrupted object is reported as such (IntegrityError naming the key), never parsed.
import { createHash } from 'node:crypto';
import { getBuffer, type BlobStore } from '../blob';
import { decodePayload, encodePayload } from './compress';
import { IntegrityError, open, seal } from './crypto/sealed-box';
import type { MasterKey } from './crypto/master-key';
import { idFromKey, objectKey, type ObjectDir } from './layout';

export const sha256Hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function sealJson(key: MasterKey, aad: Buffer, value: unknown): Buffer {
  return seal(key.encKey, encodePayload(Buffer.from(JSON.stringify(value), 'utf8')), aad);
}

export function openJson<T>(key: MasterKey, aad: Buffer, box: Buffer, what: string): T {
  const text = decodePayload(open(key.encKey, box, aad, what), what).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new IntegrityError(`${what}: decrypted content is not valid JSON`);
  }
}

export async function saveObject(store: BlobStore, dir: ObjectDir, key: MasterKey, aad: Buffer, value: unknown, signal?: AbortSignal): Promise<string> {
  const bytes = sealJson(key, aad, value);
  const id = sha256Hex(bytes);
  await store.put(objectKey(dir, id), () => bytes, { contentLength: bytes.length, signal });
  return id;
}

export async function loadObject<T>(store: BlobStore, dir: ObjectDir, key: MasterKey, aad: Buffer, id: string, signal?: AbortSignal): Promise<T> {
  const k = objectKey(dir, id);
  const bytes = await getBuffer(store, k, { signal });
  if (sha256Hex(bytes) !== id) throw new IntegrityError(`${k}: content does not match its name (SHA-256 differs): the object is corrupted`);
  return openJson<T>(key, aad, bytes, k);
}

export async function listObjectIds(store: BlobStore, dir: ObjectDir, signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of store.list(`${dir}/`, { signal })) {
    const id = idFromKey(dir, entry.key);
    if (id) ids.push(id);
  }
  return ids;
}

export async function deleteObject(store: BlobStore, dir: ObjectDir, id: string, signal?: AbortSignal): Promise<void> {
  await store.delete(objectKey(dir, id), { signal });
}
