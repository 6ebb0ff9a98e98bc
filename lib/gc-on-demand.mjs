// Garbage collection on demand.
//
// collectEvery: for worker threads that churn through external memory. Node's cipher
// update() returns a new buffer per call, and V8 collects such external memory only once ~64 MB of it
// has piled up: a worker's tiny JS heap never prompts a collection sooner, so each seal or restore worker
// held up to ~60 MB of dead buffers (the 1 GiB bench restore's peak went from ~380 to ~345 MB with this).
// gc is exposed the way jest's leak detector does it. Most of those buffers die young, and a minor
// collection (a scavenge) frees them; a full one also frees what got promoted. Full collections every
// 4 MiB cost the 1 GiB restore's two workers ~1 s of CPU (a fifth of theirs); minor ones with a full one
// every 16th time, ~0.1 s, for ~5 MB more at the peak.
//
// collectWhenGrown: for a main thread whose old generation fills with promoted garbage. V8 lets the old
// generation grow to a multiple (up to 4x on a large machine) of what survived the last full collection
// before it collects again. A restore's main thread keeps its plan (~45 MB for 32k files) and sends
// thousands of jobs to workers; jobs that wait more than two scavenges for a reply are promoted, and no
// full collection came after the plan's: the 2 GiB bench restore's heap went from 60 to 100 MB over its
// last 5 s, its peak RSS to 294-320 MB. With a full collection whenever the heap has grown by half since
// the last one (a few collections of ~80 ms), 261-264 MB, in the same time within this machine's noise.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = /** @type {(options?: { type: 'minor' }) => void} */ (runInNewContext('gc'));

/**
 * A counter that collects garbage each time `everyBytes` more bytes have gone through it: a full
 * collection every `majorEvery`-th time (default 1: always), a minor one otherwise.
 * @param {number} everyBytes
 * @param {{ majorEvery?: number }} [opts]
 * @returns {(bytes: number) => void}
 */
export function collectEvery(everyBytes, { majorEvery = 1 } = {}) {
  let since = 0;
  let count = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    count = (count + 1) % majorEvery;
    if (count === 0) collect(); // a full collection (this V8 takes { type: 'major' } for a minor one)
    else collect({ type: 'minor' });
  };
}

/**
 * Forces a full collection whenever this thread's used heap has grown by `growth` (a fraction) plus
 * `slackBytes` since the last one, checked every `everyMs`. Returns a function that stops watching.
 * @param {{ growth?: number; slackBytes?: number; everyMs?: number }} [opts]
 * @returns {() => void}
 */
export function collectWhenGrown({ growth = 0.5, slackBytes = 8e6, everyMs = 500 } = {}) {
  let base = getHeapStatistics().used_heap_size;
  const timer = setInterval(() => {
    if (getHeapStatistics().used_heap_size <= base * (1 + growth) + slackBytes) return;
    collect();
    base = getHeapStatistics().used_heap_size;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
