// ContentStore against the RADOS Gateway named by LIFEBOAT_TEST_S3_* (see testing.ts). Without those
// variables this file FAILS on purpose: the content layer's S3 path must never go silently untested.
import { runContentStoreSuite } from './suite';
import { s3TestStores } from './testing';

runContentStoreSuite('S3 (RADOS Gateway)', () => s3TestStores('content'));
