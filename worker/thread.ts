// Runs a job handler in a worker thread, so chunking, hashing, compression and encryption never hold the
// main event loop, where BullMQ renews job locks and other jobs' progress is written. The thread opens its
// own catalog connection and reports progress on the same JobRun; the outcome or error comes back by
// message. Abort from the processor's signal is forwarded and the thread's own AbortSignal fires.
import { Worker } from 'node:worker_threads';
import type { z } from 'zod';
import { PermanentJobError, TransientJobError, type JobHandler, type JobOutcome } from './processor';

export type ThreadMessage =
  | { type: 'done'; outcome: JobOutcome }
  | { type: 'error'; name: string; message: string; transient: boolean; permanent: boolean };

/** `module` exports a JobHandler named `exportName`; it is imported inside the thread. */
export function inThread<S extends z.ZodObject>(module: URL, exportName: string): JobHandler<S> {
  return (data, ctx) =>
    new Promise<JobOutcome>((resolve, reject) => {
      const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), {
        workerData: { module: module.href, exportName, data },
      });
      const onAbort = () => worker.postMessage({ type: 'abort', reason: String(ctx.signal.reason ?? 'aborted') });
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      worker.on('message', (m: ThreadMessage) => {
        if (m.type === 'done') settle(() => resolve(m.outcome));
        else {
          const Err = m.permanent ? PermanentJobError : m.transient ? TransientJobError : Error;
          settle(() => reject(new Err(m.message)));
        }
      });
      worker.on('error', (err) => settle(() => reject(err)));
      worker.on('exit', (code) => settle(() => reject(new Error(`job thread exited (code ${code}) before reporting an outcome`))));
    });
}
