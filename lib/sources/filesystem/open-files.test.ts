// The restorer's open-handle cap: files filled piece by piece in an interleaved order stay correct while
// no more than the limit of handles is ever open; temp files are created exclusively, never through a symlink.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OpenFiles, type TempFile } from './open-files';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-open-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('fills many files through at most `limit` handles, reopening evicted ones', async () => {
  const pool = new OpenFiles(3);
  const files: TempFile[] = Array.from({ length: 10 }, (_, i) => ({ tmp: join(dir, `f${i}`), created: false }));
  const pieces = files.map(() => Array.from({ length: 5 }, () => randomBytes(1000)));
  let maxOpen = 0;
  // Piece p of every file, then piece p + 1: the worst order for a handle cache of 3.
  for (let p = 4; p >= 0; p--) {
    await Promise.all(
      files.map((f, i) =>
        pool.use(f, async (h) => {
          maxOpen = Math.max(maxOpen, pool.size);
          await h.write(pieces[i]![p]!, 0, 1000, p * 1000);
        }),
      ),
    );
  }
  await Promise.all(files.map((f) => pool.close(f)));
  expect(pool.size).toBe(0);
  expect(maxOpen).toBeLessThanOrEqual(3);
  for (const [i, f] of files.entries()) expect((await readFile(f.tmp)).equals(Buffer.concat(pieces[i]!))).toBe(true);
});

it('refuses a file or a symlink planted at a temp name', async () => {
  const pool = new OpenFiles(2);
  await writeFile(join(dir, 'planted'), 'x');
  await symlink(join(dir, 'planted'), join(dir, 'planted-link'));
  await expect(pool.use({ tmp: join(dir, 'planted'), created: false }, async () => {})).rejects.toThrow(/EEXIST/);
  await expect(pool.use({ tmp: join(dir, 'planted-link'), created: false }, async () => {})).rejects.toThrow(/EEXIST/);
  await expect(pool.use({ tmp: join(dir, 'planted-link'), created: true }, async () => {})).rejects.toThrow(/ELOOP/);
  expect(pool.size).toBe(0);
  await pool.closeAll();
});
