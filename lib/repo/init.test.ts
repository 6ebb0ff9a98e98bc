import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBlobStore, getBuffer, type BlobStore } from '../blob';
import { RepositoryFormatError, newConfig, writeConfig } from './config';
import { generateMasterKey, masterKeyBytes, type MasterKey } from './crypto/master-key';
import { RepositoryExistsError, RepositoryNotFoundError, initRepository, openRepository } from './init';
import {
  MasterKeyMismatchError, WrongPasswordError, addPassphraseSlot, listKeySlots, openWithPassphrase,
} from './keys';
import { FakeKms, forEachBackend } from './keys/test-support';
import { CONFIG_KEY, MARKER_KEY } from './layout';

const FAST = { kdf: { N: 1024 } };
const same = (a: MasterKey, b: MasterKey) => masterKeyBytes(a).equals(masterKeyBytes(b));

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list('')) out.push(e.key);
  return out;
}

forEachBackend((_backend, fresh) => {
  describe('initRepository / openRepository', () => {
    it('inits with a passphrase and opens with it; a wrong one is refused', async () => {
      const store = await fresh();
      const init = await initRepository(store, { passphrase: 'pw' }, FAST);
      expect(init.id).toMatch(/^[0-9a-f]{64}$/);
      expect(init.config).toEqual({ ...newConfig(init.id), created: init.config.created });
      expect((await keys(store)).sort()).toEqual([CONFIG_KEY, `keys/${init.slotId}`, MARKER_KEY].sort());
      const opened = await openRepository(store, { passphrase: 'pw' });
      expect(opened).toMatchObject({ id: init.id, slotId: init.slotId, config: init.config });
      expect(same(opened.masterKey, init.masterKey)).toBe(true);
      await expect(openRepository(store, { passphrase: 'nope' })).rejects.toThrow(new WrongPasswordError(1));
    });

    it('refuses to init twice and keeps the first repository intact', async () => {
      const store = await fresh();
      const first = await initRepository(store, { passphrase: 'pw' }, FAST);
      const err = await initRepository(store, { passphrase: 'other' }, FAST).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RepositoryExistsError);
      expect((err as Error).message).toBe(`a Lifeboat repository already exists at ${store.describe()}`);
      expect((await openRepository(store, { passphrase: 'pw' })).id).toBe(first.id);
    });

    it('reports a missing repository as RepositoryNotFoundError', async () => {
      const store = await fresh();
      const err = await openRepository(store, { passphrase: 'pw' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RepositoryNotFoundError);
      expect((err as Error).message).toBe(`no Lifeboat repository at ${store.describe()} (run \`lifeboat init\`)`);
    });

    it('refuses a marker of an unknown version, naming it', async () => {
      const store = await fresh();
      const { id } = await initRepository(store, { passphrase: 'pw' }, FAST);
      await store.put(MARKER_KEY, () => Buffer.from(JSON.stringify({ format: 'lifeboat', version: 9, id })));
      await expect(openRepository(store, { passphrase: 'pw' })).rejects.toThrow(
        new RepositoryFormatError(`unsupported repository format version 9 at ${store.describe()} (this Lifeboat reads version 1)`),
      );
    });

    it('re-runs an interrupted init (slot and config but no marker), removing the leftovers', async () => {
      const store = await fresh();
      const crashed = generateMasterKey();
      const oldSlot = await addPassphraseSlot(store, crashed, 'pw', FAST);
      await writeConfig(store, crashed, newConfig('c'.repeat(64)));
      await expect(openRepository(store, { passphrase: 'pw' })).rejects.toBeInstanceOf(RepositoryNotFoundError);
      const init = await initRepository(store, { passphrase: 'pw2' }, FAST);
      expect((await listKeySlots(store)).map((s) => s.id)).toEqual([init.slotId]);
      expect(init.slotId).not.toBe(oldSlot);
      expect((await openRepository(store, { passphrase: 'pw2' })).id).toBe(init.id);
    });

    it('refuses to init where repository data exists without a marker', async () => {
      const store = await fresh();
      await store.put(`snapshots/${'d'.repeat(64)}`, () => Buffer.from('x'));
      await expect(initRepository(store, { passphrase: 'pw' }, FAST)).rejects.toThrow(/has no lifeboat-repo marker but holds repository objects \(snapshots\/d{64}\)/);
      expect(await keys(store)).toEqual([`snapshots/${'d'.repeat(64)}`]);
    });

    it('refuses a config that belongs to another repository', async () => {
      const store = await fresh();
      const init = await initRepository(store, { passphrase: 'pw' }, FAST);
      await writeConfig(store, init.masterKey, newConfig('e'.repeat(64)));
      await expect(openRepository(store, { passphrase: 'pw' })).rejects.toThrow(/belongs to repository e{64}, but the lifeboat-repo marker says/);
    });

    it('never adds a slot for a master key that does not open the config', async () => {
      const store = await fresh();
      await initRepository(store, { passphrase: 'pw' }, FAST);
      await expect(addPassphraseSlot(store, generateMasterKey(), 'x', FAST)).rejects.toBeInstanceOf(MasterKeyMismatchError);
      expect(await listKeySlots(store)).toHaveLength(1);
    });

    it('inits and opens with KMS (stubbed client: AWS KMS cannot run here), then adds a passphrase', async () => {
      const store = await fresh();
      const kms = new FakeKms(['arn:aws:kms:eu-west-1:111122223333:key/test']);
      const init = await initRepository(store, { kms, keyId: 'arn:aws:kms:eu-west-1:111122223333:key/test', region: 'eu-west-1' });
      const opened = await openRepository(store, { kms });
      expect(opened.slotId).toBe(init.slotId);
      expect(same(opened.masterKey, init.masterKey)).toBe(true);
      await addPassphraseSlot(store, opened.masterKey, 'break glass', FAST);
      expect(same((await openRepository(store, { passphrase: 'break glass' })).masterKey, init.masterKey)).toBe(true);
    });

    it('inits and opens with the default scrypt cost (timed)', async () => {
      const store = await fresh();
      const t0 = performance.now();
      const init = await initRepository(store, { passphrase: 'default cost' });
      const t1 = performance.now();
      const opened = await openRepository(store, { passphrase: 'default cost' });
      const t2 = performance.now();
      console.info(`default scrypt, ${_backend}: init ${(t1 - t0).toFixed(0)} ms, open ${(t2 - t1).toFixed(0)} ms`);
      expect((await listKeySlots(store))[0]?.kdf?.N).toBe(32768);
      expect(opened.id).toBe(init.id);
    });
  });
});

describe('format version 1 fixture (keys/testdata/repo-v1)', () => {
  it('opens with its passphrase and yields the recorded id, master key and config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fixture-'));
    await cp(new URL('./keys/testdata/repo-v1', import.meta.url), dir, { recursive: true });
    const store = new LocalBlobStore(dir, { fsync: false });
    const opened = await openRepository(store, { passphrase: 'lifeboat fixture passphrase' });
    expect(opened.id).toBe('84242adaad322541af945db957e49b6c29f1c2de5b2f1f08d35b07df7f6fe790');
    expect(opened.slotId).toBe('a1141a07115b8ca721c82e9c87ac7ba92c8ca8e695ce6769df99fe10d58fcb39');
    expect(masterKeyBytes(opened.masterKey).toString('hex')).toBe(
      '4cea01fb9da767167cbe5234e2c993865829da766b3a7f57a673c016a08200da5a9db04820e67c240f59e3ce6dbc4f2c59469858ed2f0a5324b815ac9a65cb36',
    );
    expect(opened.config).toEqual({ ...newConfig(opened.id, new Date('2026-11-28T16:35:58.380Z')) });
    expect((await getBuffer(store, MARKER_KEY)).toString()).toBe(`{"format":"lifeboat","version":1,"id":"${opened.id}"}`);
    await expect(openWithPassphrase(store, 'wrong')).rejects.toThrow('wrong password (tried 1 key slot)');
  });
});
