// An S3 endpoint that accepts connections and never answers (a hung proxy, a stopped VM behind a NAT)
// must fail within the configured timeouts, with one attempt per retry-policy attempt: the SDK does not
// retry on its own underneath the retrying decorator.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TransientBlobError } from './errors';
import { getBuffer } from './io';
import { withRetries } from './retrying';
import { S3BlobStore } from './s3';

let server: Server;
let port: number;
let connections = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    connections++;
    sockets.push(socket); // read nothing, answer nothing
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

it('gives up on a silent endpoint after one SDK attempt per policy attempt, as a transient error', async () => {
  const s3 = new S3BlobStore({
    endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', bucket: 'b', accessKeyId: 'a', secretAccessKey: 's', socketTimeoutMs: 300,
  });
  const store = withRetries(s3, { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 });
  const t0 = Date.now();
  const err = await getBuffer(store, 'config').catch((e: unknown) => e);
  s3.destroy();
  expect(err).toBeInstanceOf(TransientBlobError);
  expect(connections).toBe(2);
  expect(Date.now() - t0).toBeLessThan(5_000);
});
