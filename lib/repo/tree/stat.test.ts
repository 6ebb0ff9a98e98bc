import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TreeFormatError, decodeTree, encodeTree } from './encode';
import { clearIdNamesCache, loadIdNames, parseIdFile } from './id-names';
import { FileStatError, fileStatOf } from './file-stat.mjs';
import { UnsupportedFileTypeError, nodeFromStat, sameFile } from './stat';

const ID = 'c'.repeat(64);
let dir: string;
const raw = (name: string) => lstat(join(dir, name), { bigint: true });
const st = async (name: string) => fileStatOf(await raw(name));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-tree-'));
  await writeFile(join(dir, 'file.txt'), 'hello');
  await mkdir(join(dir, 'sub'), { mode: 0o750 });
  await symlink('file.txt', join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'pipe')]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('nodeFromStat', () => {
  it('builds file, dir, symlink and fifo nodes from lstat with exact times', async () => {
    const names = await loadIdNames();
    const fs = await raw('file.txt');
    const f = nodeFromStat('file.txt', fileStatOf(fs), { content: [ID], names });
    expect(f).toMatchObject({
      name: 'file.txt', type: 'file', mode: Number(fs.mode), uid: Number(fs.uid), gid: Number(fs.gid), size: 5,
      mtimeNs: fs.mtimeNs.toString(), ctimeNs: fs.ctimeNs.toString(), inode: fs.ino.toString(), dev: fs.dev.toString(), links: 1, content: [ID],
    });
    expect(f.mode & 0o170000).toBe(0o100000);
    if (process.getuid?.() === 0) expect(f.user).toBe('root');
    else expect(f.user === undefined || f.user === userInfo().username).toBe(true);
    const d = nodeFromStat('sub', await st('sub'), { subtree: ID });
    expect(d).toMatchObject({ type: 'dir', subtree: ID });
    expect(d.mode & 0o777).toBe(0o750 & ~process.umask());
    expect(d.user).toBeUndefined(); // no names lookup given
    expect(nodeFromStat('link', await st('link'), { linkTarget: 'file.txt' })).toMatchObject({ type: 'symlink', linkTarget: 'file.txt', size: 8 });
    const p = nodeFromStat('pipe', await st('pipe'));
    expect(p).toMatchObject({ type: 'fifo', size: 0 });
    expect(p).not.toHaveProperty('rdev');
    const tree = { nodes: [f, d, p, nodeFromStat('link', await st('link'), { linkTarget: 'file.txt' })] };
    expect(decodeTree(encodeTree(tree), 'tree t').nodes.map((n) => n.name)).toEqual(['file.txt', 'link', 'pipe', 'sub']);
  });

  it('requires the field each type needs and a safe name; refuses sockets', async () => {
    const fs = await st('file.txt');
    expect(() => nodeFromStat('file.txt', fs)).toThrow(/"file.txt": a file node needs "content"/);
    const sub = await st('sub');
    const ln = await st('link');
    expect(() => nodeFromStat('sub', sub)).toThrow(/a dir node needs "subtree"/);
    expect(() => nodeFromStat('link', ln)).toThrow(/a symlink node needs "linkTarget"/);
    expect(() => nodeFromStat('..', fs, { content: [] })).toThrow(TreeFormatError);
    expect(() => nodeFromStat('sock', { ...fs, kind: 'socket', mode: 0o140755 })).toThrow(UnsupportedFileTypeError);
  });
});

describe('fileStatOf', () => {
  it('keeps nanosecond times and 64-bit ids exact, as decimal strings', async () => {
    const b = await raw('file.txt');
    expect(fileStatOf(b)).toEqual({
      kind: 'file', mode: Number(b.mode), uid: Number(b.uid), gid: Number(b.gid), size: 5, nlink: 1,
      mtimeNs: b.mtimeNs.toString(), ctimeNs: b.ctimeNs.toString(), ino: b.ino.toString(), dev: b.dev.toString(), rdev: b.rdev.toString(),
    });
    expect((await st('sub')).kind).toBe('dir');
    expect((await st('link')).kind).toBe('symlink');
    expect((await st('pipe')).kind).toBe('fifo');
    const huge = Object.assign(Object.create(Object.getPrototypeOf(b) as object) as typeof b, b, { size: 2n ** 60n });
    expect(() => fileStatOf(huge)).toThrow(FileStatError);
    expect(() => fileStatOf(huge)).toThrow(`size ${2n ** 60n} is too large`);
    const unknown = Object.assign(Object.create(Object.getPrototypeOf(b) as object) as typeof b, b, { mode: BigInt(0o070644) });
    expect(() => fileStatOf(unknown)).toThrow('unknown file type (mode 0o70644)');
  });
});

describe('sameFile', () => {
  it('is true for an untouched file and false for a missing or incomplete previous node', async () => {
    const fs = await st('file.txt');
    const prev = nodeFromStat('file.txt', fs, { content: [ID] });
    expect(sameFile(prev, await st('file.txt'))).toBe(true);
    expect(sameFile(undefined, fs)).toBe(false);
    expect(sameFile({ ...prev, ctimeNs: undefined }, fs)).toBe(false);
    expect(sameFile({ ...prev, inode: undefined }, fs)).toBe(false);
    expect(sameFile(nodeFromStat('sub', await st('sub'), { subtree: ID }), fs)).toBe(false);
  });

  it('is false when size, mtime, ctime or inode differ', async () => {
    const path = join(dir, 'changing.txt');
    await writeFile(path, 'one');
    await utimes(path, 1_700_000_000, 1_700_000_000); // whole seconds, so setting it back is exact
    const before = fileStatOf(await lstat(path, { bigint: true }));
    const prev = nodeFromStat('changing.txt', before, { content: [ID] });
    expect(sameFile(prev, before)).toBe(true);
    expect(sameFile({ ...prev, size: 4 }, before)).toBe(false);
    expect(sameFile({ ...prev, mtimeNs: (BigInt(before.mtimeNs) + 1n).toString() }, before)).toBe(false);
    expect(sameFile({ ...prev, dev: (BigInt(before.dev) + 1n).toString() }, before)).toBe(false);
    // Same size, mtime set back to the old value: only ctime reveals the change.
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(path, 'two');
    await utimes(path, 1_700_000_000, 1_700_000_000);
    const after = fileStatOf(await lstat(path, { bigint: true }));
    expect(after.size).toBe(before.size);
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(sameFile(prev, after)).toBe(false);
    // Replaced by another file (save-by-rename): new inode.
    const prev2 = nodeFromStat('changing.txt', after, { content: [ID] });
    await writeFile(join(dir, 'tmp'), 'two');
    await rename(join(dir, 'tmp'), path);
    expect(sameFile(prev2, fileStatOf(await lstat(path, { bigint: true })))).toBe(false);
  });
});

describe('id names', () => {
  it('parses passwd and group files, first entry wins, junk skipped', () => {
    const map = parseIdFile('root:x:0:0:root:/root:/bin/bash\n# comment\n+nis\nbad line\nalias:x:0:0::/:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n');
    expect([...map]).toEqual([[0, 'root'], [1000, 'ann']]);
  });

  it('loads from given files once, and yields no names when files are missing', async () => {
    const passwd = join(dir, 'passwd');
    const group = join(dir, 'group');
    await writeFile(passwd, 'ann:x:1000:1000::/home/ann:/bin/sh\n');
    await writeFile(group, 'staff:x:50:ann\n');
    clearIdNamesCache();
    const names = await loadIdNames({ passwd, group });
    expect([names.user(1000), names.group(50), names.user(1), names.group(1000)]).toEqual(['ann', 'staff', undefined, undefined]);
    await writeFile(passwd, 'bob:x:1000:1000::/home/bob:/bin/sh\n');
    expect((await loadIdNames({ passwd, group })).user(1000)).toBe('ann'); // cached
    clearIdNamesCache();
    expect((await loadIdNames({ passwd, group })).user(1000)).toBe('bob');
    const none = await loadIdNames({ passwd: join(dir, 'nope'), group: join(dir, 'nope2') });
    expect(none.user(0)).toBeUndefined();
  });
});
