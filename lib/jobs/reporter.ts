// Records a running job's life in its JobRun row: started, steps, throttled progress, outcome. The console
// reads only these rows. Progress writes are throttled (at most one per `intervalMs`) so a fast job cannot
// flood the catalog; step changes and outcomes are always written. Writes are applied in call order, even
// when callers do not await them, so a late progress write can never land after the outcome.
import type { Db } from '../db/client';
import type { JobStatus } from '../db/generated/enums';

export type Progress = { fraction?: number; bytesDone?: number; bytesTotal?: number; filesDone?: number; filesTotal?: number };

export class JobReporter {
  private lastWrite = 0;
  private pending: Progress | null = null;
  private startedAt = new Date();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    readonly jobRunId: string,
    private readonly opts: { workerId: string; intervalMs?: number; onProgress?: (fraction: number) => void } = { workerId: 'worker' },
  ) {}

  /** Queues one catalog write behind the previous ones. */
  private write(data: Parameters<Db['jobRun']['update']>[0]['data']): Promise<void> {
    const next = this.writes.then(() => this.db.jobRun.update({ where: { id: this.jobRunId }, data }));
    this.writes = next.catch(() => undefined);
    return next.then(() => undefined);
  }

  async start(attempt: number): Promise<void> {
    this.startedAt = new Date();
    await this.write({
      status: 'running',
      startedAt: this.startedAt,
      workerId: this.opts.workerId,
      attempts: attempt,
      step: 'starting',
      error: null,
    });
  }

  async step(step: string, progress: Progress = {}): Promise<void> {
    this.lastWrite = Date.now();
    this.pending = null;
    await this.write({ step, ...toColumns(progress) });
    if (progress.fraction !== undefined) this.opts.onProgress?.(progress.fraction);
  }

  async progress(progress: Progress): Promise<void> {
    this.pending = progress;
    if (Date.now() - this.lastWrite < (this.opts.intervalMs ?? 500)) return;
    await this.flush();
  }

  /** Writes any throttled progress and waits until every earlier write has landed. */
  async flush(): Promise<void> {
    if (!this.pending) {
      await this.writes;
      return;
    }
    const p = this.pending;
    this.pending = null;
    this.lastWrite = Date.now();
    await this.write(toColumns(p));
    if (p.fraction !== undefined) this.opts.onProgress?.(p.fraction);
  }

  async finish(status: Extract<JobStatus, 'succeeded' | 'partial' | 'failed' | 'cancelled'>, outcome: { result?: object; error?: string; step?: string } = {}): Promise<void> {
    await this.flush();
    const finishedAt = new Date();
    await this.write({
        status,
        finishedAt,
        durationMs: finishedAt.getTime() - this.startedAt.getTime(),
        step: outcome.step ?? (status === 'succeeded' ? 'done' : status),
        ...(status === 'succeeded' ? { progress: 1 } : {}),
        ...(outcome.result ? { result: outcome.result } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
    });
  }
}

function toColumns(p: Progress) {
  return {
    ...(p.fraction !== undefined ? { progress: Math.max(0, Math.min(1, p.fraction)) } : {}),
    ...(p.bytesDone !== undefined ? { bytesDone: BigInt(Math.round(p.bytesDone)) } : {}),
    ...(p.bytesTotal !== undefined ? { bytesTotal: BigInt(Math.round(p.bytesTotal)) } : {}),
    ...(p.filesDone !== undefined ? { filesDone: p.filesDone } : {}),
    ...(p.filesTotal !== undefined ? { filesTotal: p.filesTotal } : {}),
  };
}
