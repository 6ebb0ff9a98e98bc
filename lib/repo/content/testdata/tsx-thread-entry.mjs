// Test fixture (seal.test.ts): a worker thread started like worker/thread-entry.mjs starts job threads,
// with tsx registered inside the thread, running a TypeScript module that uses the seal workers.
import { register } from 'tsx/esm/api';

register();
await import('./tsx-thread-main.ts');
