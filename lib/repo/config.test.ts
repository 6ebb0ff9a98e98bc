import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBlobStore, getBuffer } from '../blob';
import {
  DEFAULT_CONFIG, RepositoryFormatError, newConfig, parseConfig, parseMarker, readConfig, readMarker, writeConfig,
  writeMarker,
} from './config';
import { generateMasterKey } from './crypto/master-key';
import { AAD, IntegrityError } from './crypto/sealed-box';
import { CONFIG_KEY, MARKER_KEY } from './layout';
import { sealJson } from './objects';

const ID = 'a'.repeat(64);
const where = 'local:/x';
const store = async () => new LocalBlobStore(await mkdtemp(join(tmpdir(), 'lifeboat-config-')), { fsync: false });

describe('marker (§3)', () => {
  it('is written as the exact plaintext JSON and read back', async () => {
    const s = await store();
    expect(await readMarker(s)).toBeNull();
    await writeMarker(s, ID);
    expect((await getBuffer(s, MARKER_KEY)).toString()).toBe(`{"format":"lifeboat","version":1,"id":"${ID}"}`);
    expect(await readMarker(s)).toEqual({ format: 'lifeboat', version: 1, id: ID });
  });

  it.each([
    ['{"format":"lifeboat","version":2,"id":"x"}', 'unsupported repository format version 2 at local:/x (this Lifeboat reads version 1)'],
    ['{"format":"restic","version":1}', 'lifeboat-repo at local:/x is not a Lifeboat repository marker (format "restic")'],
    ['not json', 'lifeboat-repo at local:/x is not valid JSON: not a Lifeboat repository marker'],
    ['{"format":"lifeboat","version":1,"id":"ABC"}', 'lifeboat-repo at local:/x: field id: must be 64 lowercase hex characters'],
  ])('refuses %s', (text, message) => {
    expect(() => parseMarker(Buffer.from(text), where)).toThrow(new RepositoryFormatError(message));
  });
});

describe('config (§5)', () => {
  it('has exactly the §5 defaults', () => {
    const c = newConfig(ID, new Date('2024-01-15T10:00:00Z'));
    expect(c).toEqual({
      version: 1, id: ID, created: '2024-01-15T10:00:00.000Z',
      chunker: { algorithm: 'fastcdc-2020', minSize: 524288, avgSize: 1048576, maxSize: 8388608 },
      compression: { algorithm: 'zstd', level: 3 },
      contentId: 'hmac-sha256',
      packTargetSize: 16777216,
    });
    expect(DEFAULT_CONFIG.packTargetSize).toBe(16 * 1024 * 1024);
  });

  it('is sealed under the master key and read back; a wrong key fails authentication', async () => {
    const s = await store();
    const key = generateMasterKey();
    const c = newConfig(ID);
    await writeConfig(s, key, c);
    const stored = await getBuffer(s, CONFIG_KEY);
    expect(stored[0]).toBe(0x01);
    expect(stored.toString('latin1')).not.toContain('fastcdc');
    expect(await readConfig(s, key)).toEqual(c);
    await expect(readConfig(s, generateMasterKey())).rejects.toThrow(IntegrityError);
  });

  it('says when config is missing', async () => {
    await expect(readConfig(await store(), generateMasterKey())).rejects.toThrow(/config is missing from local:.*: the repository is damaged/);
  });

  const base = newConfig(ID);
  it.each([
    [{ ...base, version: 7 }, 'unsupported config version 7 at local:/x (this Lifeboat reads version 1)'],
    [{ ...base, chunker: { ...base.chunker, algorithm: 'rabin' } }, 'field chunker.algorithm: unknown chunker algorithm "rabin" (this Lifeboat knows fastcdc-2020)'],
    [{ ...base, compression: { algorithm: 'lz4', level: 1 } }, 'field compression.algorithm: unknown compression algorithm "lz4" (this Lifeboat knows zstd)'],
    [{ ...base, contentId: 'blake3' }, 'field contentId: unknown content id algorithm "blake3" (this Lifeboat knows hmac-sha256)'],
    [{ ...base, chunker: { ...base.chunker, minSize: 4 * 1048576 } }, 'field chunker: sizes must satisfy minSize < avgSize < maxSize'],
    [{ ...base, chunker: { ...base.chunker, avgSize: 1000000 } }, 'field chunker.avgSize: must be a power of two >= 256'],
    [{ ...base, packTargetSize: 0 }, 'field packTargetSize:'],
  ])('refuses a config breaking the schema (%#)', (raw, message) => {
    expect(() => parseConfig(raw, where)).toThrow(RepositoryFormatError);
    expect(() => parseConfig(raw, where)).toThrow(message);
  });

  it('refuses an unknown algorithm read from storage, naming it', async () => {
    const s = await store();
    const key = generateMasterKey();
    const bytes = sealJson(key, AAD.config, { ...base, compression: { algorithm: 'brotli', level: 3 } });
    await s.put(CONFIG_KEY, () => bytes);
    await expect(readConfig(s, key)).rejects.toThrow(/unknown compression algorithm "brotli"/);
  });
});
