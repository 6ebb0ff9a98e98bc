// The binlog archive (binlog-archive.ts on ../../repo/sealed-files.ts) against a local directory and the RADOS
// Gateway: files kept whole, sealed under their key, never replaced by different content; and the replay
// run a point-in-time restore needs, refused with the gap named when a file is missing.
import { describe, expect, it } from 'vitest';
import { getBuffer } from '../../blob';
import { generateMasterKey } from '../../repo/crypto/master-key';
import { forEachBackend } from '../../repo/keys/test-support';
import { BinlogArchive, BinlogArchiveError, replayFiles, type ArchivedBinlog } from './binlog-archive';

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

forEachBackend((backend, fresh) => {
  describe(`binlog archive (${backend})`, () => {
    it('stores files sealed, gives them back, lists them and never replaces one with different content', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const archive = new BinlogArchive(store, key, 'shopdb');
      expect(await archive.push('binlog.000001', bytes(5000, 1))).toBe('stored');
      expect(await archive.push('binlog.000001', bytes(5000, 1))).toBe('already-archived');
      await expect(archive.push('binlog.000001', bytes(5000, 2))).rejects.toThrow(/already holds a different binlog\.000001.*RESET MASTER/);
      expect(await archive.push('binlog.000002', bytes(10, 3))).toBe('stored');
      expect((await archive.fetch('binlog.000001'))!.equals(bytes(5000, 1))).toBe(true);
      expect(await archive.fetch('binlog.000003')).toBeNull();
      expect((await archive.list()).map((f) => f.name)).toEqual(['binlog.000001', 'binlog.000002']);
      // Sealed: the stored object is neither the file nor readable under another source's name or another key.
      const stored = await getBuffer(store, 'binlog/shopdb/binlog.000001');
      expect(stored.includes(bytes(64, 1))).toBe(false);
      await store.put('binlog/other/binlog.000001', () => stored, { contentLength: stored.length });
      await expect(new BinlogArchive(store, key, 'other').fetch('binlog.000001')).rejects.toThrow();
      await expect(new BinlogArchive(store, generateMasterKey(), 'shopdb').fetch('binlog.000001')).rejects.toThrow();
      expect(() => new BinlogArchive(store, key, '../x')).toThrow(BinlogArchiveError);
      await expect(archive.push('../../config', bytes(1, 1))).rejects.toThrow(/not a binary log file name/);
    });
  });
});

describe('replayFiles', () => {
  const f = (name: string): ArchivedBinlog => ({ name, size: 1, time: new Date(0) });
  it('runs from the dump file through every later one of its base name, and names a gap or a missing start', () => {
    const archived = [f('binlog.000007'), f('binlog.000008'), f('binlog.000009'), f('other-bin.000008')];
    expect(replayFiles(archived, 'binlog.000008').map((x) => x.name)).toEqual(['binlog.000008', 'binlog.000009']);
    expect(() => replayFiles(archived, 'binlog.000006')).toThrow(/does not hold binlog\.000006/);
    expect(() => replayFiles([f('binlog.000001'), f('binlog.000003')], 'binlog.000001')).toThrow(/gap after binlog\.000001 \(next archived: binlog\.000003\)/);
    expect(replayFiles([f('binlog.999999'), f('binlog.1000000')], 'binlog.999999').map((x) => x.name)).toEqual(['binlog.999999', 'binlog.1000000']);
  });
});
