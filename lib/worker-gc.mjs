// Garbage collection on demand for worker threads that churn through external memory. Node's cipher
// update() returns a new buffer per call, and V8 collects such external memory only once ~64 MB of it
// has piled up: a worker's tiny JS heap never prompts a collection sooner, so each seal or restore worker
// held up to ~60 MB of dead buffers (the 1 GiB bench restore's peak went from ~380 to ~345 MB with this).
// gc is exposed the way jest's leak detector does it. Most of those buffers die young, and a minor
// collection (a scavenge) frees them; a full one also frees what got promoted. Full collections every
// 4 MiB cost the 1 GiB restore's two workers ~1 s of CPU (a fifth of theirs); minor ones with a full one
// every 16th time, ~0.1 s, for ~5 MB more at the peak.
import { setFlagsFromString } from 'node:v8';
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
