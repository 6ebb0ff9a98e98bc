/**
 * Small filesystem helpers for LocalBlobStore: mkdirs (mkdir -p returning the first directory created),
 * fsyncDir (make a directory's entries durable) and errCode (the errno code of a Node fs error).
 * Stateless; safe under concurrency (mkdirs tolerates directories created by others meanwhile).
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * mkdir -p returning the first directory created (undefined if none). Hand-written because Node's
 * recursive mkdir spins forever where mkdir fails with ENOENT although the parent exists (e.g. /proc).
 */
export async function mkdirs(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir);
    return dir;
  } catch (err) {
    const code = errCode(err);
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return undefined;
      throw err;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    const first = await mkdirs(parent);
    if (first === undefined && !(await stat(parent)).isDirectory()) throw err;
    try {
      await mkdir(dir);
    } catch (again) {
      if (errCode(again) !== 'EEXIST') throw again;
    }
    return first ?? dir;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
