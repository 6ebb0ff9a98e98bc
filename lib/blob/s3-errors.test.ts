import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, InvalidRangeError, PermanentBlobError, TransientBlobError } from './errors';
import { translateError } from './s3-errors';

const store = 's3://bk/pre/ at http://127.0.0.1:7480';
const ctx = (op: 'get' | 'head' | 'put' | 'list' | 'delete', key = 'k/1') => ({ op, key, store, bucket: 'bk' });

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(extra.message as string ?? name), { name, $metadata: { httpStatusCode: status }, ...extra });
}

describe('translateError', () => {
  it.each([
    ['NoSuchKey 404 on get', sdkError('NoSuchKey', 404), 'get', BlobNotFoundError],
    ['NotFound 404 on head', sdkError('NotFound', 404), 'head', BlobNotFoundError],
    ['416', sdkError('InvalidRange', 416), 'get', InvalidRangeError],
    ['403 AccessDenied', sdkError('AccessDenied', 403), 'put', PermanentBlobError],
    ['403 on head (no body)', sdkError('Forbidden', 403), 'head', PermanentBlobError],
    ['InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403), 'list', PermanentBlobError],
    ['SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), 'put', PermanentBlobError],
    ['NoSuchBucket', sdkError('NoSuchBucket', 404), 'get', PermanentBlobError],
    ['RequestTimeTooSkewed', sdkError('RequestTimeTooSkewed', 403), 'put', PermanentBlobError],
    ['400 other', sdkError('InvalidArgument', 400), 'put', PermanentBlobError],
    ['501', sdkError('NotImplemented', 501), 'put', PermanentBlobError],
    ['500', sdkError('InternalError', 500), 'put', TransientBlobError],
    ['503 SlowDown', sdkError('SlowDown', 503), 'put', TransientBlobError],
    ['429', sdkError('TooManyRequests', 429), 'get', TransientBlobError],
    ['400 RequestTimeout', sdkError('RequestTimeout', 400), 'put', TransientBlobError],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'get', TransientBlobError],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'put', TransientBlobError],
    ['AggregateError ECONNREFUSED', Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), { code: undefined }), 'head', TransientBlobError],
    ['TimeoutError', sdkError('TimeoutError'), 'get', TransientBlobError],
    ['unknown without status', new Error('weird'), 'get', TransientBlobError],
    ['TypeError (a bug)', new TypeError('x is not a function'), 'get', PermanentBlobError],
    ['CredentialsProviderError', sdkError('CredentialsProviderError'), 'get', PermanentBlobError],
  ] as const)('%s', (_label, err, op, cls) => {
    const out = translateError(err, ctx(op));
    expect(out).toBeInstanceOf(cls);
    expect((out as { cause?: unknown }).cause ?? err).toBe(err);
    if (!(out instanceof BlobNotFoundError)) expect(out.message).toContain(store);
  });

  it('writes messages for humans naming the endpoint, bucket and what to check', () => {
    expect(translateError(sdkError('SignatureDoesNotMatch', 403), ctx('put')).message)
      .toBe(`put "k/1" on ${store} failed: the request signature does not match; check the secret access key (403 SignatureDoesNotMatch)`);
    expect(translateError(sdkError('NoSuchBucket', 404), ctx('list', 'a/')).message)
      .toBe(`list "a/" on ${store} failed: bucket "bk" does not exist (404 NoSuchBucket)`);
    expect(translateError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7480'), { code: 'ECONNREFUSED' }), ctx('get')).message)
      .toBe(`get "k/1" on ${store} failed: cannot reach the S3 endpoint (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:7480`);
  });

  it('passes BlobErrors and aborts through unchanged', () => {
    const nf = new BlobNotFoundError('x');
    expect(translateError(nf, ctx('get'))).toBe(nf);
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(translateError(abort, ctx('get'))).toBe(abort);
  });
});
