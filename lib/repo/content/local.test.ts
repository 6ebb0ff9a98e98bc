// ContentStore against a local directory (LocalBlobStore).
import { runContentStoreSuite } from './suite';
import { localTestStores } from './testing';

runContentStoreSuite('local directory', localTestStores);
