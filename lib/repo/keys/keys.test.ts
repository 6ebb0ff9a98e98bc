import { createDecipheriv, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { LocalBlobStore, getBuffer, type BlobStore } from '../../blob';
import { generateMasterKey, masterKeyBytes, type MasterKey } from '../crypto/master-key';
import { AAD } from '../crypto/sealed-box';
import { objectKey } from '../layout';
import {
  KeySlotFormatError, KeySlotNotFoundError, KeySlotRefusedError, NoKeySlotError, WrongPasswordError,
  addPassphraseSlot, changePassphrase, listKeySlots, openWithPassphrase, removeKeySlot,
} from '.';
import { forEachBackend } from './test-support';

const FAST = { N: 1024 };
const same = (a: MasterKey, b: MasterKey) => masterKeyBytes(a).equals(masterKeyBytes(b));

async function readSlotJson(store: BlobStore, id: string): Promise<Record<string, any>> {
  return JSON.parse((await getBuffer(store, objectKey('keys', id))).toString());
}
async function writeSlotRaw(store: BlobStore, id: string, body: string | object): Promise<void> {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  await store.put(objectKey('keys', id), () => bytes);
}

forEachBackend((_backend, fresh) => {
  describe('passphrase key slots', () => {
    it('opens with the passphrase, and fails with a wrong one naming the number of slots tried', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const id = await addPassphraseSlot(store, key, 'correct horse', { kdf: FAST, label: 'ops' });
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const opened = await openWithPassphrase(store, 'correct horse');
      expect(opened.slotId).toBe(id);
      expect(same(opened.masterKey, key)).toBe(true);
      const err = await openWithPassphrase(store, 'wrong horse').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WrongPasswordError);
      expect((err as Error).message).toBe('wrong password (tried 1 key slot)');
    });

    it('opens the same master key through each of two slots; lists them without secrets', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const a = await addPassphraseSlot(store, key, 'alpha', { kdf: FAST, label: 'a' });
      const b = await addPassphraseSlot(store, key, 'bravo', { kdf: FAST, label: 'b' });
      const [oa, ob] = await Promise.all([openWithPassphrase(store, 'alpha'), openWithPassphrase(store, 'bravo')]);
      expect([oa.slotId, ob.slotId]).toEqual([a, b]);
      expect(same(oa.masterKey, key) && same(ob.masterKey, key)).toBe(true);
      await expect(openWithPassphrase(store, 'charlie')).rejects.toThrow('wrong password (tried 2 key slots)');
      const list = await listKeySlots(store);
      expect(list.map((s) => s.id)).toEqual([a, b].sort());
      expect(list.find((s) => s.id === a)).toMatchObject({ kind: 'passphrase', label: 'a', kdf: { algorithm: 'scrypt', N: 1024, r: 8, p: 1 } });
      const text = JSON.stringify(list);
      for (const id of [a, b]) {
        const raw = await readSlotJson(store, id);
        expect(text).not.toContain(raw.wrapped);
        expect(text).not.toContain(raw.kdf.salt);
      }
    });

    it('changes a passphrase: the old one fails, the new one opens the unchanged master key', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const old = await addPassphraseSlot(store, key, 'old secret', { kdf: FAST, label: 'admin' });
      const { slotId } = await openWithPassphrase(store, 'old secret');
      const newId = await changePassphrase(store, key, slotId, 'new secret', { kdf: FAST });
      expect(newId).not.toBe(old);
      await expect(openWithPassphrase(store, 'old secret')).rejects.toBeInstanceOf(WrongPasswordError);
      const opened = await openWithPassphrase(store, 'new secret');
      expect(opened.slotId).toBe(newId);
      expect(same(opened.masterKey, key)).toBe(true);
      expect((await listKeySlots(store)).map((s) => [s.id, s.label])).toEqual([[newId, 'admin']]);
    });

    it('refuses to remove the last slot, and removes one of two', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const a = await addPassphraseSlot(store, key, 'alpha', { kdf: FAST });
      await expect(removeKeySlot(store, a, { currentSlotId: a })).rejects.toThrow(/refusing to remove keys\/[0-9a-f]{64}: it is the slot this session opened/);
      await expect(removeKeySlot(store, a)).rejects.toBeInstanceOf(KeySlotRefusedError);
      await expect(removeKeySlot(store, 'f'.repeat(64))).rejects.toBeInstanceOf(KeySlotNotFoundError);
      const b = await addPassphraseSlot(store, key, 'bravo', { kdf: FAST });
      await removeKeySlot(store, a, { currentSlotId: a });
      expect((await listKeySlots(store)).map((s) => s.id)).toEqual([b]);
      await expect(removeKeySlot(store, b, { currentSlotId: b })).rejects.toBeInstanceOf(KeySlotRefusedError);
      expect(same((await openWithPassphrase(store, 'bravo')).masterKey, key)).toBe(true);
    });

    it('reports a slot with a flipped byte in wrapped as a wrong password, and a truncated one as malformed', async () => {
      const store = await fresh();
      const id = await addPassphraseSlot(store, generateMasterKey(), 'pw', { kdf: FAST });
      const slot = await readSlotJson(store, id);
      const wrapped = Buffer.from(slot.wrapped, 'base64');
      wrapped[40]! ^= 0x01;
      await writeSlotRaw(store, id, { ...slot, wrapped: wrapped.toString('base64') });
      await expect(openWithPassphrase(store, 'pw')).rejects.toThrow('wrong password (tried 1 key slot)');
      await writeSlotRaw(store, id, { ...slot, wrapped: wrapped.subarray(0, 60).toString('base64') });
      await expect(openWithPassphrase(store, 'pw')).rejects.toThrow(`keys/${id}: invalid key slot: field wrapped: wrapped must be 94 bytes`);
      const badFormat = Buffer.from(slot.wrapped, 'base64');
      badFormat[0] = 0x02;
      await writeSlotRaw(store, id, { ...slot, wrapped: badFormat.toString('base64') });
      await expect(openWithPassphrase(store, 'pw')).rejects.toThrow('field wrapped: wrapped must be a sealed box (format byte 0x01)');
    });

    it('names keys/<id> and the field of a malformed slot, and still opens through a good one', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const good = await addPassphraseSlot(store, key, 'pw', { kdf: FAST });
      const slot = await readSlotJson(store, good);
      const bad = 'b'.repeat(64);
      const cases: [string | object, RegExp][] = [
        ['{not json', /^keys\/b{64}: key slot is not valid JSON$/],
        [{ ...slot, kdf: { ...slot.kdf, salt: undefined } }, /field kdf\.salt: /],
        [{ ...slot, kdf: { ...slot.kdf, N: 1000 } }, /field kdf\.N: N must be a power of two/],
        [{ ...slot, kdf: { ...slot.kdf, N: 2 ** 24 } }, /field kdf\.N: scrypt memory/],
        [{ ...slot, kdf: { ...slot.kdf, algorithm: 'argon2id' } }, /field kdf\.algorithm: unknown kdf algorithm "argon2id"/],
        [{ ...slot, kind: 'gcp-kms' }, /field kind: unknown key slot kind "gcp-kms"/],
        [{ ...slot, version: 2 }, /field version: unsupported key slot version 2/],
        [{ ...slot, created: 'yesterday' }, /field created: created must be an RFC 3339 timestamp/],
      ];
      for (const [body, message] of cases) {
        await writeSlotRaw(store, bad, body);
        const err = await listKeySlots(store).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(KeySlotFormatError);
        expect((err as Error).message).toMatch(message);
        expect((err as Error).message).toContain(`keys/${bad}`);
        expect(same((await openWithPassphrase(store, 'pw')).masterKey, key)).toBe(true);
      }
      await expect(openWithPassphrase(store, 'nope')).rejects.toThrow(/wrong password \(tried 1 key slot\); 1 key slot could not be read: keys\/b{64}/);
      await removeKeySlot(store, bad, { currentSlotId: good });
      expect((await listKeySlots(store)).map((s) => s.id)).toEqual([good]);
    });

    it('reads scrypt parameters from the slot (a slot written with N=16384 still opens)', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const id = await addPassphraseSlot(store, key, 'pw', { kdf: { N: 16384 } });
      expect((await readSlotJson(store, id)).kdf).toMatchObject({ algorithm: 'scrypt', N: 16384, r: 8, p: 1 });
      expect(same((await openWithPassphrase(store, 'pw')).masterKey, key)).toBe(true);
    });

    it('uses N=32768, r=8, p=1 by default and opens such a slot (timed)', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const id = await addPassphraseSlot(store, key, 'pässwörd'.normalize('NFD'));
      expect((await listKeySlots(store))[0]?.kdf).toEqual({ algorithm: 'scrypt', N: 32768, r: 8, p: 1 });
      const t0 = performance.now();
      const opened = await openWithPassphrase(store, 'pässwörd'.normalize('NFC'));
      console.info(`open with default scrypt (N=32768, r=8, p=1), ${_backend}: ${(performance.now() - t0).toFixed(0)} ms`);
      expect(opened.slotId).toBe(id);
      expect(same(opened.masterKey, key)).toBe(true);
    });

    it('refuses empty passphrases and bad scrypt parameters; says when there is no passphrase slot', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      await expect(addPassphraseSlot(store, key, '')).rejects.toBeInstanceOf(KeySlotRefusedError);
      await expect(addPassphraseSlot(store, key, 'x', { kdf: { N: 3000 } })).rejects.toThrow(/N must be a power of two/);
      await expect(openWithPassphrase(store, 'x')).rejects.toThrow(NoKeySlotError);
      await expect(openWithPassphrase(store, 'x')).rejects.toThrow(/no passphrase key slot in .*: it has no key slots at all/);
    });
  });
});

describe('key slot format (second reader, plain node:crypto)', () => {
  it('is scrypt(NFC passphrase) -> AES-256-GCM over 0x00 || master key, AAD lifeboat/v1/key-slot', async () => {
    const store = new LocalBlobStore(await mkdtemp(`${tmpdir()}/lifeboat-slot-`), { fsync: false });
    const key = generateMasterKey();
    const id = await addPassphraseSlot(store, key, 'Å', { kdf: FAST, hostname: 'h1', label: 'l' });
    const slot = await readSlotJson(store, id);
    expect(Object.keys(slot).sort()).toEqual(['created', 'hostname', 'kdf', 'kind', 'label', 'version', 'wrapped']);
    expect(slot).toMatchObject({ version: 1, kind: 'passphrase', hostname: 'h1', label: 'l' });
    const kek = scryptSync(Buffer.from('Å'.normalize('NFC')), Buffer.from(slot.kdf.salt, 'base64'), 32, { N: slot.kdf.N, r: slot.kdf.r, p: slot.kdf.p });
    const box = Buffer.from(slot.wrapped, 'base64');
    expect(box[0]).toBe(0x01);
    const d = createDecipheriv('aes-256-gcm', kek, box.subarray(1, 13));
    d.setAAD(AAD.keySlot);
    d.setAuthTag(box.subarray(box.length - 16));
    const payload = Buffer.concat([d.update(box.subarray(13, box.length - 16)), d.final()]);
    expect(payload[0]).toBe(0x00);
    expect(payload.subarray(1).equals(masterKeyBytes(key))).toBe(true);
  });
});
