/**
 * translateError: the one place deciding what an AWS SDK (S3) failure means for Lifeboat.
 *
 *   NoSuchKey / 404 on get or head                         -> BlobNotFoundError
 *   416 / InvalidRange                                      -> InvalidRangeError
 *   401/403, AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket, other 4xx,
 *   credential/config errors, programming errors           -> PermanentBlobError
 *   5xx (not 501), 408/429, throttling/SlowDown, RequestTimeout, timeouts, connection refused/reset,
 *   DNS failures, other errors without an HTTP status       -> TransientBlobError
 * BlobErrors and aborts pass through unchanged. Messages name the operation, the key and the store
 * (whose description names the endpoint and bucket) and say what to check; they never contain secrets.
 * Pure function; safe under any concurrency.
 */
import {
  BlobError, BlobNotFoundError, InvalidRangeError, PermanentBlobError, TransientBlobError, isAbortError,
  type BlobOp,
} from './errors';

export interface TranslateContext {
  op: BlobOp;
  key?: string;
  /** describe() of the store: "s3://bucket/prefix at http://host:port". */
  store: string;
  bucket: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ESOCKETTIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'Throttling', 'ThrottlingException',
  'ThrottledException', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'TooManyRequestsException',
  'RequestLimitExceeded', 'BandwidthLimitExceeded', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException',
  'EC2ThrottledException', 'PriorRequestNotComplete',
]);

const PERMANENT_HINTS: Record<string, string> = {
  InvalidAccessKeyId: 'the access key id is not known to the server; check the access key id',
  SignatureDoesNotMatch: 'the request signature does not match; check the secret access key',
  AccessDenied: 'access denied; check that the credentials may use this bucket',
  AllAccessDisabled: 'all access to this bucket has been disabled',
  InvalidToken: 'the session token is invalid',
  ExpiredToken: 'the session token has expired',
  AuthorizationHeaderMalformed: 'the authorization header is malformed; check the region',
  RequestTimeTooSkewed: "this machine's clock differs too much from the server's; fix the clock (NTP)",
  InvalidBucketName: 'the bucket name is invalid',
  PermanentRedirect: 'the bucket lives at another endpoint or region; check endpoint, region and path-style',
  NotImplemented: 'the server does not implement this request',
  CredentialsProviderError: 'no usable credentials were configured',
};

interface SdkLikeError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

function networkCode(err: SdkLikeError): string | undefined {
  if (err.code && NETWORK_CODES.has(err.code)) return err.code;
  // Node's happy-eyeballs connect failures arrive as AggregateError with the real codes inside.
  for (const inner of err.errors ?? []) {
    const code = (inner as SdkLikeError | null)?.code;
    if (code && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

export function translateError(err: unknown, ctx: TranslateContext): Error {
  if (err instanceof BlobError || isAbortError(err)) return err as Error;
  const e: SdkLikeError = typeof err === 'object' && err !== null ? (err as SdkLikeError) : { message: String(err) };
  const name = e.Code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const { op, key, store } = ctx;
  const subject = key === undefined || key === '' ? `${op} on ${store}` : `${op} "${key}" on ${store}`;
  const details = { key, op, store, cause: err };
  const raw = e.message && e.message !== 'UnknownError' && e.message !== name ? `: ${e.message}` : '';
  const tag = `(${[status, name].filter((x) => x !== undefined).join(' ')})`;

  if (name === 'NoSuchBucket') {
    return new PermanentBlobError(`${subject} failed: bucket "${ctx.bucket}" does not exist ${tag}`, details);
  }
  if (name === 'NoSuchKey' || (status === 404 && (op === 'get' || op === 'head'))) {
    return new BlobNotFoundError(key ?? '', { op, store, cause: err });
  }
  if (status === 416 || name === 'InvalidRange') {
    return new InvalidRangeError(`${subject} failed: the requested range is not satisfiable ${tag}`, details);
  }
  const hint = PERMANENT_HINTS[name];
  if (hint) return new PermanentBlobError(`${subject} failed: ${hint} ${tag}`, details);
  if (status === 401 || status === 403) {
    return new PermanentBlobError(`${subject} failed: access denied; check the credentials ${tag}${raw}`, details);
  }
  const net = networkCode(e);
  if (net) {
    return new TransientBlobError(`${subject} failed: cannot reach the S3 endpoint (${net})${raw}`, details);
  }
  if (TRANSIENT_NAMES.has(name) || status === 408 || status === 429 || (status !== undefined && status >= 500 && status !== 501)) {
    return new TransientBlobError(`${subject} failed, may work if retried ${tag}${raw}`, details);
  }
  if (status !== undefined) {
    return new PermanentBlobError(`${subject} failed: the server refused the request ${tag}${raw}`, details);
  }
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError) {
    return new PermanentBlobError(`${subject} failed: ${name}${raw}`, details);
  }
  return new TransientBlobError(`${subject} failed, may work if retried: ${name}${raw}`, details);
}
