// A fresh ext4 file system (with a journal, as on most servers) on a loop device, one per restore the benches
// time. On these VMs the root file system is ext4 without a journal, where creating a file scans past every
// inode freed in the last minutes (`recently_deleted`): a restore right after another one was deleted spent a
// third of its CPU there, and the restore ratios swung from 1.03 to 1.37 with what the machine had deleted
// before. A new file system per restore gives every tool the same, history-free target.
// Needs root (mount); without it, or when the loop mount fails, the caller restores into its work directory
// and says so.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from '../scripts/services/util.mjs';

export type ScratchFs = { path: string; describe: string; dispose(): void };

export function freshFileSystem(work: string, bytes: number, name: string, log: (m: string) => void): ScratchFs | null {
  if (!isRoot()) return null;
  const image = join(work, `${name}.img`);
  const path = join(work, name);
  const gib = Math.ceil(bytes / 1024 ** 3);
  try {
    writeFileSync(image, '');
    truncateSync(image, gib * 1024 ** 3); // sparse: the host allocates only what is written
    // Inode tables and journal initialised now, not by a kernel thread during the measurements.
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image], { stdio: 'ignore' });
    mkdirSync(path, { recursive: true });
    execFileSync('mount', ['-o', 'loop', image, path], { stdio: 'pipe' });
  } catch (err) {
    log(`no fresh file system for the restores (${(err as Error).message.split('\n')[0]}): restoring into ${work}`);
    rmSync(image, { force: true });
    return null;
  }
  return {
    path,
    describe: `a fresh ${gib} GiB ext4 (journal, loop device)`,
    dispose() {
      try {
        execFileSync('umount', [path], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', path], { stdio: 'ignore' });
      }
      rmSync(image, { force: true });
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export type RestoreTarget = { dir: string; describe: string | null; drop(): void };

/**
 * A directory `name` for one restore, in a fresh file system of its own (or in `work` when none can be made):
 * a restore into a file system another restore had just filled spent 2-3x the system time here, for either
 * tool, which favoured whichever went first (bench/README.md, twelfth session). drop() removes both, once.
 */
export function restoreTarget(work: string, bytes: number, name: string, log: (m: string) => void): RestoreTarget {
  const scratch = freshFileSystem(work, bytes, name, log);
  const dir = join(scratch?.path ?? work, name);
  let dropped = false;
  return {
    dir,
    describe: scratch?.describe ?? null,
    drop() {
      if (dropped) return;
      dropped = true;
      rmSync(dir, { recursive: true, force: true });
      scratch?.dispose();
    },
  };
}
