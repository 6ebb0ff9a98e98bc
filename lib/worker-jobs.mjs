// The worker side of WorkerPool's batches (worker-pool.ts): wraps a worker's parentPort so its job handler
// sees one job at a time whether they came alone or as { batch: [...] }. Replies still go back one by one,
// as each job is done: the thread waiting on the first job of a batch must not wait for the whole batch, and
// posting to a thread that is busy (the storing thread, during a walk) costs little; waking one that sleeps
// is what costs.
// Plain JavaScript: worker scripts load it the same under tsx, vitest and the bundle.

/**
 * @param {import('node:worker_threads').MessagePort} parentPort
 * @returns {{ on(event: 'message', handler: (job: any) => void): void, postMessage(message: unknown, transfer?: readonly any[]): void }}
 */
export function jobPort(parentPort) {
  return {
    on(event, handler) {
      if (event !== 'message') throw new Error(`jobPort: only 'message' is supported, got ${event}`);
      parentPort.on('message', (m) => {
        if (!m || !Array.isArray(m.batch)) return handler(m);
        for (const job of m.batch) handler(job);
      });
    },
    postMessage(message, transfer = []) {
      parentPort.postMessage(message, transfer);
    },
  };
}
