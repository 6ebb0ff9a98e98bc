// Pre-scan for progress totals: counts the files and bytes a backup of `roots` will cover (same exclude
// and one-file-system rules as the archiver), stat only. Runs beside the archiver; errors are ignored
// here (the archiver reports them).
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExcludeMatcher } from './excludes';

export type ScanTotals = { files: number; bytes: number };

export async function scanTotals(roots: string[], opts: { excluded: ExcludeMatcher; oneFileSystem: boolean; signal?: AbortSignal }): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  const visit = async (path: string, stat: BigIntStats, rootDev: bigint): Promise<void> => {
    opts.signal?.throwIfAborted();
    if (stat.isFile()) {
      totals.files++;
      totals.bytes += Number(stat.size);
      return;
    }
    if (!stat.isDirectory() || (opts.oneFileSystem && stat.dev !== rootDev)) return;
    const names = await readdir(path).catch(() => [] as string[]);
    for (const name of names) {
      const child = join(path, name);
      if (opts.excluded(child)) continue;
      const st = await lstat(child, { bigint: true }).catch(() => null);
      if (st) await visit(child, st, rootDev);
    }
  };
  for (const root of roots) {
    const st = await lstat(root, { bigint: true }).catch(() => null);
    if (st) await visit(root, st, st.dev);
  }
  return totals;
}
