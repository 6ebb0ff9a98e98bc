// Write handles of the temp files a restore is filling, at most `limit` open at once. Blobs arrive in
// pack order, not file order, so a file may get pieces from several reads far apart in time: its handle
// is opened on first use, kept while recently used, closed when idle and the limit is reached (least
// recently used first), and reopened when a later piece arrives. Writers use positioned writes, so
// several may share one handle. Handles are read-write: the finished file is checked through the same
// handle. The first open creates the file with O_EXCL|O_NOFOLLOW (a planted file or symlink at the temp
// name is refused); later opens use O_NOFOLLOW and never create. An error closing an evicted handle is
// kept and thrown at the file's next use or close.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** A temp file to fill. `created` turns true when its first open starts. */
export interface TempFile {
  readonly tmp: string;
  created: boolean;
}

interface Slot {
  handle: Promise<FileHandle>;
  users: number;
}

export class OpenFiles {
  /** In least-recently-used-first order (a use moves the entry to the end). */
  private readonly open = new Map<TempFile, Slot>();
  private waiters: (() => void)[] = [];
  private readonly evictionErrors = new Map<TempFile, unknown>();

  constructor(private readonly limit: number) {}

  /** Handles currently open (or opening). */
  get size(): number {
    return this.open.size;
  }

  /** Runs `fn` with the file's handle, opening (or creating) the file when needed. */
  async use<T>(file: TempFile, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    this.throwEvictionError(file);
    const slot = await this.acquire(file);
    try {
      return await fn(await slot.handle);
    } finally {
      slot.users--;
      this.wake();
    }
  }

  /** Closes the file's handle once no writer uses it (no-op when it is not open). */
  async close(file: TempFile): Promise<void> {
    this.throwEvictionError(file);
    for (;;) {
      const slot = this.open.get(file);
      if (!slot) return;
      if (slot.users === 0) return this.closeSlot(file, slot);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Closes every handle, ignoring errors (clean-up after a failure or an abort). */
  async closeAll(): Promise<void> {
    const slots = [...this.open.entries()];
    this.open.clear();
    await Promise.all(slots.map(([, slot]) => slot.handle.then((h) => h.close()).catch(() => {})));
    this.wake();
  }

  private async acquire(file: TempFile): Promise<Slot> {
    for (;;) {
      const slot = this.open.get(file);
      if (slot) {
        slot.users++;
        this.open.delete(file);
        this.open.set(file, slot);
        return slot;
      }
      if (this.open.size < this.limit) break;
      const idle = [...this.open].find(([, s]) => s.users === 0);
      if (idle) await this.closeSlot(idle[0], idle[1]).catch((err) => this.evictionErrors.set(idle[0], err));
      else await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const slot: Slot = { users: 1, handle: this.openFile(file) };
    this.open.set(file, slot);
    slot.handle.catch(() => {
      if (this.open.get(file) === slot) this.open.delete(file);
      this.wake();
    });
    return slot;
  }

  private openFile(file: TempFile): Promise<FileHandle> {
    const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    if (file.created) return open(file.tmp, O_RDWR | O_NOFOLLOW);
    file.created = true;
    return open(file.tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  }

  private async closeSlot(file: TempFile, slot: Slot): Promise<void> {
    if (this.open.get(file) === slot) this.open.delete(file);
    this.wake();
    let handle: FileHandle;
    try {
      handle = await slot.handle;
    } catch {
      return; // never opened; the writer that opened it got the error
    }
    await handle.close();
  }

  private throwEvictionError(file: TempFile): void {
    if (!this.evictionErrors.has(file)) return;
    const err = this.evictionErrors.get(file);
    this.evictionErrors.delete(file);
    throw err;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
