// The worker side of WorkerPool's batches (worker-pool.ts): onJobs calls a worker's job handler with one job
// at a time, whether they came alone or as { batch: [...] }. Replies still go back one by one (the handler
// posts them on parentPort as each job is done): the thread waiting on the first job of a batch must not
// wait for the whole batch, and posting to a thread that is busy (the storing thread, during a walk) costs
// little; waking one that sleeps is what costs.
// Plain JavaScript: worker scripts load it the same under tsx, vitest and the bundle.

/**
 * @param {import('node:worker_threads').MessagePort} port
 * @param {(job: any) => void} handler
 */
export function onJobs(port, handler) {
  port.on('message', (m) => {
    if (!m || !Array.isArray(m.batch)) return handler(m);
    for (const job of m.batch) handler(job);
  });
}
