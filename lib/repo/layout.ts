// Object keys of the repository layout (docs/repository-format.md §1), relative to the store's prefix.
export const MARKER_KEY = 'lifeboat-repo';
export const CONFIG_KEY = 'config';

export type ObjectDir = 'keys' | 'index' | 'snapshots' | 'locks' | 'data';

const HEX_ID = /^[0-9a-f]{64}$/;

export function isObjectId(id: string): boolean {
  return HEX_ID.test(id);
}

export function objectKey(dir: ObjectDir, id: string): string {
  if (!isObjectId(id)) throw new Error(`invalid ${dir} id "${id}": expected 64 lowercase hex characters`);
  return dir === 'data' ? `data/${id.slice(0, 2)}/${id}` : `${dir}/${id}`;
}

/** The id of an object key in `dir`, or null for keys that are not objects of that dir (ignored by readers). */
export function idFromKey(dir: ObjectDir, key: string): string | null {
  const id = key.slice(key.lastIndexOf('/') + 1);
  return key.startsWith(`${dir}/`) && isObjectId(id) ? id : null;
}
