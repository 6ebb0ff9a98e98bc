// Garbage collection on demand for worker threads that churn through external memory. Node's cipher
// update() returns a new buffer per call, and V8 collects such external memory only once ~64 MB of it
// has piled up: a worker's tiny JS heap never prompts a collection sooner, so each seal or restore worker
// held up to ~60 MB of dead buffers (the 1 GiB bench restore's peak went from ~380 to ~345 MB with this).
// gc is exposed the way jest's leak detector does it; a full collection of a worker's few-MB heap takes
// about a millisecond.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = /** @type {() => void} */ (runInNewContext('gc'));

/**
 * A counter that collects garbage each time `everyBytes` more bytes have gone through it.
 * @param {number} everyBytes
 * @returns {(bytes: number) => void}
 */
export function collectEvery(everyBytes) {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collect();
  };
}
