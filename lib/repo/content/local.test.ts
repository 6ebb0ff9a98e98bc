// ContentStore against a local directory (LocalBlobStore), sealing on the calling thread and on two seal workers.
import { runContentStoreSuite } from './suite';
import { localTestStores } from './testing';

runContentStoreSuite('local directory', localTestStores, { sealWorkers: 0 });
runContentStoreSuite('local directory', localTestStores, { sealWorkers: 2 });
