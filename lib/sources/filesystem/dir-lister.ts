// Directory listings for the archiver's walk, read on a worker thread (dir-list-worker.mjs): readdir and an
// lstat per entry with synchronous calls there, one message per directory here. Through promises on the
// walking thread each lstat cost ~12 us of its time plus BigInt garbage; a re-backup of 16k files spent
// ~0.2 s of its main thread on them. One worker, shared by every walk in the process (listing is cheap next
// to what the walk does with it); it starts on first use and stops when idle.
import { WorkerPool, systemError, type Reply } from '../../worker-pool';
import type { FileStat } from '../../repo/tree';

/** An entry's FileStat, or why it could not be stat'ed (a node-like error with `code`). */
export type EntryStat = FileStat | Error;

type WireStat = FileStat | { error: { message: string; code?: string } };
type ListReply = Reply & { names: string[]; stats: WireStat[]; invalid: string[]; error?: { message: string; code?: string } };
type StatReply = Reply & { stats: WireStat[] };

export class DirListerError extends Error {
  name = 'DirListerError';
}

const fromWire = (s: WireStat): EntryStat => ('error' in s ? systemError(s.error) : s);

export class DirLister {
  private readonly pool = new WorkerPool({ workers: 1, workerUrl: new URL('./dir-list-worker.mjs', import.meta.url), name: 'directory lister', errorClass: DirListerError });

  /**
   * `dir`'s names in UTF-8 byte order and the stats of the first `statFirst` of them, and apart, the names
   * that are not valid UTF-8 (their bad bytes shown as \xNN; a tree cannot hold them). Rejects with node's
   * error (code and message) when the directory cannot be read.
   */
  async list(dir: string, statFirst: number): Promise<{ names: string[]; stats: EntryStat[]; invalid: string[] }> {
    const r = await this.pool.run<ListReply>({ list: dir, statFirst }, [], 1);
    if (r.error) throw systemError(r.error);
    return { names: r.names, stats: r.stats.map(fromWire), invalid: r.invalid };
  }

  /** The stat of each of `names` in `dir`. */
  async stat(dir: string, names: string[]): Promise<EntryStat[]> {
    if (names.length === 0) return [];
    const r = await this.pool.run<StatReply>({ stat: dir, names }, [], 1);
    return r.stats.map(fromWire);
  }

  /** Boots the worker now, so the walk's first listing does not wait for it. */
  start(): void {
    this.pool.start();
  }
}

let shared: DirLister | undefined;

/** The process's lister. */
export function dirLister(): DirLister {
  return (shared ??= new DirLister());
}
