// An https S3 endpoint with a self-signed certificate (pgBackRest-style setups, private CAs): refused by
// default, trusted through caBundle / LIFEBOAT_S3_CA_FILE. The server is a local node https server that
// answers every request with S3's 404 NoSuchKey: enough to see whether TLS got through.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryLocation } from '../repo/location';
import { BlobNotFoundError } from './errors';
import { openBlobStore } from './open';
import { S3BlobStore } from './s3';

let dir: string;
let server: Server;
let port: number;
let cert: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-s3-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    req.resume();
    res.writeHead(404, { 'content-type': 'application/xml' });
    res.end(req.method === 'HEAD' ? undefined : '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>nope</Message></Error>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const cfg = () => ({ endpoint: `https://127.0.0.1:${port}`, region: 'us-east-1', bucket: 'b', accessKeyId: 'AK', secretAccessKey: 'SK' });

describe('S3 over https with a self-signed certificate', () => {
  it('refuses the certificate by default', async () => {
    const store = new S3BlobStore(cfg());
    await expect(store.head('x')).rejects.toThrow(/self[- ]signed certificate/i);
    store.destroy();
  });

  it('trusts it through caBundle, and LIFEBOAT_S3_CA_FILE reaches the store', async () => {
    const store = new S3BlobStore({ ...cfg(), caBundle: cert });
    await expect(store.head('x')).rejects.toThrow(BlobNotFoundError);
    // A large body goes with "Expect: 100-continue", for which the SDK used to swap in a default agent.
    const put = await store.put('big', () => Buffer.alloc(5 * 1024 * 1024)).catch((e: Error) => e);
    expect(put).toBeInstanceOf(Error);
    expect(String(put)).not.toMatch(/certificate/i);
    store.destroy();
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, cert);
    const env = { LIFEBOAT_REPOSITORY: 's3://bucket/p', LIFEBOAT_S3_ENDPOINT: `https://127.0.0.1:${port}`, LIFEBOAT_S3_ACCESS_KEY_ID: 'AK', LIFEBOAT_S3_SECRET_ACCESS_KEY: 'SK', LIFEBOAT_S3_CA_FILE: caFile };
    const opened = openBlobStore(repositoryLocation({}, env), { retry: false });
    await expect(opened.store.head('x')).rejects.toThrow(BlobNotFoundError);
    opened.close();
    expect(() => repositoryLocation({}, { ...env, LIFEBOAT_S3_CA_FILE: join(dir, 'missing.pem') })).toThrow(/cannot read LIFEBOAT_S3_CA_FILE .*missing\.pem: ENOENT/);
  });
});
