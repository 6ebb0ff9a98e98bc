// Test double of seal-worker.mjs (seal.test.ts): the real worker, plus faults chosen by workerData.faults.
// delay=<ms>: each job waits that long first (a slow worker). after=<n>: the first n jobs
// are sealed normally, then mode=job-error makes every job fail inside the worker (an error reply),
// mode=exit ends the thread with exit code 3, mode=throw throws an uncaught error in the thread.
import { parentPort, workerData } from 'node:worker_threads';

const { mode = '', after = 0, delay = 0 } = workerData.faults ?? {};
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let jobs = 0;

// Wraps the real worker's message listener when it registers it (the port delivers nothing before that, so
// no job can slip past the faults).
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) => {
  if (event !== 'message') return on(event, listener);
  // Jobs come alone or in a batch (worker-pool.ts); a batch's jobs are faulted and handled one by one.
  return on('message', (m) => {
    for (const job of Array.isArray(m?.batch) ? m.batch : [m]) {
      if (delay > 0) Atomics.wait(sleeper, 0, 0, delay);
      if (++jobs > after) {
        if (mode === 'job-error') job.length = -1; // the real worker's seal throws a RangeError and replies with it
        else if (mode === 'exit') process.exit(3);
        else if (mode === 'throw') throw new Error('injected crash in the seal worker');
      }
      listener(job);
    }
  });
};

await import('../seal-worker.mjs');
