import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, getBuffer, type BlobStore } from '../../blob';
import { generateMasterKey, masterKeyBytes } from '../crypto/master-key';
import { objectKey } from '../layout';
import {
  AwsKmsClient, KMS_ENCRYPTION_CONTEXT, KmsError, NoKeySlotError, addKmsSlot, addPassphraseSlot, listKeySlots,
  openWithKms, openWithPassphrase, removeKeySlot, type KmsClientLike,
} from '.';
import { FakeKms, forEachBackend } from './test-support';

const KEY = 'alias/lifeboat-test';
const REGION = 'eu-west-1';

forEachBackend((_backend, fresh) => {
  describe('KMS (stubbed client: AWS KMS cannot run here)', () => {
    it('round-trips the master key through an aws-kms slot, listing the key id but no ciphertext', async () => {
      const store = await fresh();
      const kms = new FakeKms([KEY]);
      const key = generateMasterKey();
      const id = await addKmsSlot(store, key, kms, { keyId: KEY, region: REGION, label: 'prod kms' });
      expect(kms.calls).toEqual({ generateDataKey: 1, decrypt: 1 }); // the add proves Decrypt works
      const opened = await openWithKms(store, kms);
      expect(opened.slotId).toBe(id);
      expect(masterKeyBytes(opened.masterKey).equals(masterKeyBytes(key))).toBe(true);
      const [info] = await listKeySlots(store);
      expect(info).toMatchObject({ id, kind: 'aws-kms', label: 'prod kms', kms: { keyId: KEY, region: REGION } });
      const raw = JSON.parse((await getBuffer(store, objectKey('keys', id))).toString());
      expect(JSON.stringify(info)).not.toContain(raw.kms.ciphertextBlob);
      // A factory gets each slot's key id and region.
      const seen: unknown[] = [];
      await openWithKms(store, (slot) => { seen.push(slot); return kms; });
      expect(seen).toEqual([{ keyId: KEY, region: REGION }]);
    });

    it('fails with KmsError naming the slot when KMS refuses or the slot was altered', async () => {
      const store: BlobStore = await fresh();
      const kms = new FakeKms([KEY]);
      const id = await addKmsSlot(store, generateMasterKey(), kms, { keyId: KEY, region: REGION });
      await expect(openWithKms(store, new FakeKms([KEY]))).rejects.toThrow(
        new RegExp(`could not open any of 1 key slot of kind aws-kms .*keys/${id} \\(key ${KEY} in ${REGION}\\): the ciphertext is invalid`),
      );
      const raw = JSON.parse((await getBuffer(store, objectKey('keys', id))).toString());
      const wrapped = Buffer.from(raw.wrapped, 'base64');
      wrapped[50]! ^= 0x80;
      await store.put(objectKey('keys', id), () => Buffer.from(JSON.stringify({ ...raw, wrapped: wrapped.toString('base64') })));
      const err = await openWithKms(store, kms).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KmsError);
      expect((err as Error).message).toMatch(/does not open with the data key KMS returned/);
    });

    it('keeps passphrase and KMS slots apart', async () => {
      const store = await fresh();
      const kms = new FakeKms([KEY]);
      const key = generateMasterKey();
      const k = await addKmsSlot(store, key, kms, { keyId: KEY, region: REGION });
      await expect(openWithPassphrase(store, 'pw')).rejects.toThrow(/no passphrase key slot .*1 key slot of another kind \(aws-kms\)/);
      const p = await addPassphraseSlot(store, key, 'pw', { kdf: { N: 1024 } });
      await removeKeySlot(store, k, { currentSlotId: p });
      await expect(openWithKms(store, kms)).rejects.toBeInstanceOf(NoKeySlotError);
    });

    it('does not add a slot when Decrypt is refused after GenerateDataKey', async () => {
      const store = await fresh();
      const kms = new FakeKms([KEY]);
      const noDecrypt: KmsClientLike = {
        generateDataKey: (k) => kms.generateDataKey(k),
        decrypt: async () => { throw new KmsError('AWS KMS Decrypt with key x failed: AccessDeniedException'); },
      };
      await expect(addKmsSlot(store, generateMasterKey(), noDecrypt, { keyId: KEY, region: REGION })).rejects.toThrow(/AccessDenied/);
      expect(await listKeySlots(store)).toEqual([]);
    });
  });
});

// The real adapter over @aws-sdk/client-kms, against a local HTTP endpoint speaking KMS's JSON protocol
// (backed by FakeKms): checks the requests the SDK sends and the translation of KMS errors.
describe('AwsKmsClient (fake KMS HTTP endpoint: AWS KMS cannot run here)', () => {
  const fake = new FakeKms([KEY]);
  const requests: { target: string; body: Record<string, unknown> }[] = [];
  let server: Server;
  let client: AwsKmsClient;

  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>;
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const target = String(req.headers['x-amz-target']);
      const body = await readBody(req);
      requests.push({ target, body });
      const reply = (status: number, json: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
      };
      try {
        if (target === 'TrentService.GenerateDataKey') {
          const dk = await fake.generateDataKey(body.KeyId!);
          reply(200, { KeyId: body.KeyId, Plaintext: dk.plaintext.toString('base64'), CiphertextBlob: dk.ciphertextBlob.toString('base64') });
        } else if (target === 'TrentService.Decrypt') {
          const pt = await fake.decrypt(Buffer.from(body.CiphertextBlob!, 'base64'), body.KeyId!);
          reply(200, { KeyId: body.KeyId, Plaintext: pt.toString('base64') });
        } else reply(400, { __type: 'UnsupportedOperationException', message: target });
      } catch (err) {
        reply(400, { __type: (err as Error).name, message: (err as Error).message });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    client = new AwsKmsClient({
      region: REGION, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-not-in-messages' },
    });
  });

  afterAll(async () => {
    client?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('generates and decrypts a data key with KeySpec AES_256 and the lifeboat encryption context', async () => {
    const dk = await client.generateDataKey(KEY);
    expect(dk.plaintext.length).toBe(32);
    expect((await client.decrypt(dk.ciphertextBlob, KEY)).equals(dk.plaintext)).toBe(true);
    expect(requests[0]).toMatchObject({ target: 'TrentService.GenerateDataKey', body: { KeyId: KEY, KeySpec: 'AES_256', EncryptionContext: KMS_ENCRYPTION_CONTEXT } });
    expect(requests[1]).toMatchObject({ target: 'TrentService.Decrypt', body: { KeyId: KEY, EncryptionContext: KMS_ENCRYPTION_CONTEXT } });
  });

  it('translates KMS errors into KmsError naming operation, key and region, without secrets', async () => {
    const err = await client.generateDataKey('alias/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KmsError);
    expect((err as Error).message).toBe(`AWS KMS GenerateDataKey with key alias/missing in ${REGION} failed: NotFoundException: key alias/missing does not exist`);
    const bad = await client.decrypt(Buffer.from('garbage'), KEY).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/Decrypt with key alias\/lifeboat-test .* failed: (IncorrectKeyException|InvalidCiphertextException)/);
    expect((bad as Error).message).not.toContain('secret-not-in-messages');
  });

  it('serves as the client of a real key slot', async () => {
    const store = new LocalBlobStore(await mkdtemp(`${tmpdir()}/lifeboat-kms-`), { fsync: false });
    const key = generateMasterKey();
    await addKmsSlot(store, key, client, { keyId: KEY, region: REGION });
    expect(masterKeyBytes((await openWithKms(store, client)).masterKey).equals(masterKeyBytes(key))).toBe(true);
  });
});
