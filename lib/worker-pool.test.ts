// WorkerPool's batching (worker-pool.ts, worker-jobs.mjs), on a real worker thread: light jobs sent in one
// turn of the event loop reach the worker as one message and are answered one by one, in order; a heavy
// job is posted at once, after the light jobs before it; a job that cannot be posted fails alone.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool, type Reply } from './worker-pool';

// The worker counts the messages it receives (before onJobs takes batches apart) and the jobs it handles.
const workerSource = `
import { parentPort } from 'node:worker_threads';
import { onJobs } from ${JSON.stringify(new URL('./worker-jobs.mjs', import.meta.url).href)};
let messages = 0;
let jobs = 0;
parentPort.on('message', () => messages++);
onJobs(parentPort, (job) => parentPort.postMessage({ seq: job.seq, value: job.value, order: ++jobs, messages }));
`;
const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);

type EchoReply = Reply & { value: unknown; order: number; messages: number };

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});
const newPool = () => (pool = new WorkerPool({ workers: 1, workerUrl, name: 'echo worker' }));

describe('WorkerPool batches', () => {
  it('sends the light jobs of one turn of the event loop as one message and answers each, in order', async () => {
    const p = newPool();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => p.run<EchoReply>({ value: i }, [], 1)));
    expect(replies.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(replies.map((r) => r.order)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(replies.map((r) => r.messages))).toEqual(new Set([1])); // one message carried all 20
    // Jobs of later turns go in messages of their own.
    const next = await p.run<EchoReply>({ value: 'later' }, [], 1);
    expect(next).toMatchObject({ value: 'later', order: 21, messages: 2 });
    expect(p.outstanding).toBe(0);
  });

  it('posts a heavy job at once, after the light jobs sent before it; transfers go along', async () => {
    const p = newPool();
    const buf = new ArrayBuffer(8);
    const light = [p.run<EchoReply>({ value: 'a' }, [], 1), p.run<EchoReply>({ value: buf }, [buf], 1)];
    expect(buf.byteLength).toBe(8); // queued, not posted yet
    const heavy = p.run<EchoReply>({ value: 'heavy' }, [], 1024 * 1024);
    expect(buf.byteLength).toBe(0); // the heavy job flushed the batch ahead of itself
    const after = p.run<EchoReply>({ value: 'b' }, [], 1);
    const [a, withBuf, h, b] = await Promise.all([...light, heavy, after]);
    expect([a!.order, withBuf!.order, h!.order, b!.order]).toEqual([1, 2, 3, 4]);
    expect((withBuf!.value as ArrayBuffer).byteLength).toBe(8);
    expect([a!.messages, h!.messages, b!.messages]).toEqual([1, 2, 3]);
  });

  it('rejects only the job that cannot be posted', async () => {
    const p = newPool();
    const jobs = [p.run<EchoReply>({ value: 1 }, [], 1), p.run<EchoReply>({ value: () => 2 }, [], 1), p.run<EchoReply>({ value: 3 }, [], 1)];
    const [one, two, three] = (await Promise.allSettled(jobs)) as [PromiseSettledResult<EchoReply>, PromiseSettledResult<EchoReply>, PromiseSettledResult<EchoReply>];
    expect(one).toMatchObject({ status: 'fulfilled', value: { value: 1 } });
    expect(two.status).toBe('rejected');
    expect(String((two as PromiseRejectedResult).reason)).toMatch(/could not be cloned/);
    expect(three).toMatchObject({ status: 'fulfilled', value: { value: 3 } });
    expect(p.outstanding).toBe(0);
    expect((await p.run<EchoReply>({ value: 4 }, [], 1)).value).toBe(4); // the pool goes on
  });
});
