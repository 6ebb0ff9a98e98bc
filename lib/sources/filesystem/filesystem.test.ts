// Filesystem backup and restore end to end through a real repository, on a local directory and on the
// RADOS Gateway: metadata survives, incremental backups skip unchanged files, unreadable files make a
// partial restore point, and restores never write outside their target.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../../repo/keys/test-support';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';
import { restoreTree, RestoreError } from './restorer';

const fastKdf = { kdf: { N: 1024 } };
let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-fs-test-'));
  src = join(work, 'www');
  await mkdir(join(src, 'assets/img'), { recursive: true });
  await mkdir(join(src, 'empty-dir'));
  await writeFile(join(src, 'index.html'), '<h1>hello</h1>\n');
  await writeFile(join(src, 'assets/big.bin'), randomBytes(3 * 1024 * 1024 + 123)); // several chunks
  await writeFile(join(src, 'assets/img/logo.svg'), '<svg/>'.repeat(1000));
  await writeFile(join(src, 'empty.txt'), '');
  await chmod(join(src, 'index.html'), 0o640);
  await symlink('index.html', join(src, 'home.html'));
  await link(join(src, 'index.html'), join(src, 'index-hardlink.html'));
  spawnSync('mkfifo', [join(src, 'pipe')]);
  await utimes(join(src, 'assets/img/logo.svg'), new Date('2024-01-15T10:00:00Z'), new Date('2024-01-15T10:00:00Z'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const source = { kind: 'filesystem' as const, name: 'www' };

forEachBackend((backend, fresh) => {
  it(`backs up and restores with metadata (${backend})`, async () => {
    const repo = await Repository.init(await fresh(), { passphrase: 'pw' }, fastKdf);
    const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
    expect(snapshot.status).toBe('complete');
    expect(snapshot.summary.files).toBe(5);
    expect(snapshot.summary.newFiles).toBe(5);

    const target = join(work, `restore-${backend}`);
    const result = await restoreTree(repo, snapshot.tree, target, { from: src });
    expect(result.errors).toEqual([]);
    expect(result.verifiedFiles).toBe(4); // the hard link is linked, not re-written
    expect((await readFile(join(target, 'assets/big.bin'))).equals(await readFile(join(src, 'assets/big.bin')))).toBe(true);
    expect(await readFile(join(target, 'index.html'), 'utf8')).toBe('<h1>hello</h1>\n');
    expect((await stat(join(target, 'index.html'))).mode & 0o777).toBe(0o640);
    expect(await readlink(join(target, 'home.html'))).toBe('index.html');
    expect((await stat(join(target, 'index-hardlink.html'))).ino).toBe((await stat(join(target, 'index.html'))).ino);
    expect((await lstat(join(target, 'pipe'))).isFIFO()).toBe(true);
    expect((await stat(join(target, 'empty-dir'))).isDirectory()).toBe(true);
    expect((await readFile(join(target, 'empty.txt'))).length).toBe(0);
    expect((await stat(join(target, 'assets/img/logo.svg'))).mtime.toISOString()).toBe('2024-01-15T10:00:00.000Z');

    // The same repository reopened from storage alone restores the same bytes.
    const reopened = await Repository.open(repo.store, { passphrase: 'pw' });
    const again = join(work, `restore2-${backend}`);
    await restoreTree(reopened, snapshot.tree, again);
    expect((await readFile(join(again, src, 'assets/big.bin'))).equals(await readFile(join(src, 'assets/big.bin')))).toBe(true);
  });

  it(`skips unchanged files on incremental runs and re-reads them with full (${backend})`, async () => {
    const repo = await Repository.init(await fresh(), { passphrase: 'pw' }, fastKdf);
    // onMode tells the caller what kind of run it is before the worker threads start (the CLI tunes V8 by it).
    const events: string[] = [];
    const startWorkers = repo.startWorkers.bind(repo);
    repo.startWorkers = () => {
      events.push('workers started');
      startWorkers();
    };
    const onMode = (mode: string) => events.push(mode);
    const first = await backupFilesystem(repo, { source, paths: [src], onMode });
    const second = await backupFilesystem(repo, { source, paths: [src], onMode });
    expect(events).toEqual(['full', 'workers started', 'incremental']);
    expect(second.snapshot.parent).toBe(first.snapshotId);
    expect(second.snapshot.mode).toBe('incremental');
    expect(second.snapshot.summary).toMatchObject({ unchangedFiles: 5, changedFiles: 0, newFiles: 0 });
    // Only directory metadata may change between runs (other tests touch /tmp's mtime): no file data is stored.
    expect(second.snapshot.summary.addedBytes).toBeLessThan(4096);

    await writeFile(join(src, 'index.html'), '<h1>changed</h1>\n');
    const third = await backupFilesystem(repo, { source, paths: [src] });
    expect(third.snapshot.summary.changedFiles).toBe(2); // the file and its hard link
    expect(third.snapshot.summary.unchangedFiles).toBe(3);

    const full = await backupFilesystem(repo, { source, paths: [src], full: true });
    expect(full.snapshot.mode).toBe('full');
    expect(full.snapshot.summary.unchangedFiles).toBe(0);
    expect(full.snapshot.summary.files).toBe(5);
    expect(full.snapshot.summary.addedBytes).toBeLessThan(4096); // re-read and re-hashed, but no new file data
    await writeFile(join(src, 'index.html'), '<h1>hello</h1>\n');
  });

  it(`records unreadable files, keeps going and marks the restore point partial (${backend})`, async () => {
    const repo = await Repository.init(await fresh(), { passphrase: 'pw' }, fastKdf);
    const unreadable = `/proc/${process.pid}/mem`; // lstat works, read fails with EIO, even as root
    const { snapshot } = await backupFilesystem(repo, { source, paths: [src, unreadable] });
    expect(snapshot.status).toBe('partial');
    expect(snapshot.summary.errors).toEqual([expect.objectContaining({ path: unreadable, message: expect.stringMatching(/EIO/) })]);
    expect(snapshot.summary.files).toBe(5);
  });
});

it('refuses to restore through a symlink planted in the target', async () => {
  const repo = await Repository.init(new (await import('../../blob')).LocalBlobStore(join(work, 'repo-escape'), { fsync: false }), { passphrase: 'pw' }, fastKdf);
  const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
  const target = join(work, 'escape-target');
  const outside = join(work, 'outside');
  await mkdir(target);
  await mkdir(outside);
  await symlink(outside, join(target, 'assets'));
  await expect(restoreTree(repo, snapshot.tree, target, { from: src })).rejects.toThrow(RestoreError);
  await expect(readFile(join(outside, 'big.bin'))).rejects.toThrow(/ENOENT/);
  await expect(restoreTree(repo, snapshot.tree, target, { from: '/nope' })).rejects.toThrow('path /nope is not in this snapshot');
});

it('stays on one file system when asked (/dev holds other mounts such as /dev/shm and /dev/pts)', async () => {
  const { readdirSync, lstatSync } = await import('node:fs');
  const { decodeTree } = await import('../../repo/tree');
  const devOf = (p: string) => lstatSync(p).dev;
  const otherMounts = readdirSync('/dev').filter((n) => lstatSync(join('/dev', n)).isDirectory() && devOf(join('/dev', n)) !== devOf('/dev'));
  expect(otherMounts.length, 'this test needs a mount point below /dev').toBeGreaterThan(0);

  const repo = await Repository.init(new (await import('../../blob')).LocalBlobStore(join(work, 'repo-onefs'), { fsync: false }), { passphrase: 'pw' }, fastKdf);
  const names = async (oneFileSystem: boolean) => {
    const { snapshot } = await backupFilesystem(repo, { source: { kind: 'filesystem', name: `dev-${oneFileSystem}` }, paths: ['/dev'], oneFileSystem });
    const root = decodeTree(await repo.loadBlob(snapshot.tree), 'root');
    const dev = root.nodes.find((n) => n.name === 'dev');
    if (dev?.type !== 'dir') throw new Error('no /dev in the snapshot');
    return decodeTree(await repo.loadBlob(dev.subtree), 'dev').nodes.map((n) => n.name);
  };
  const within = await names(true);
  for (const m of otherMounts) expect(within).not.toContain(m);
  const across = await names(false);
  for (const m of otherMounts) expect(across).toContain(m);
});

it('takes progress totals from a pre-scan on a first backup and from the parent on an incremental one, never below what is done', async () => {
  const repo = await Repository.init(new (await import('../../blob')).LocalBlobStore(join(work, 'repo-progress'), { fsync: false }), { passphrase: 'pw' }, fastKdf);
  const run = async () => {
    const events: { filesDone: number; filesTotal?: number; bytesDone: number; bytesTotal?: number }[] = [];
    await backupFilesystem(repo, { source, paths: [src], onProgress: (p) => events.push(p) });
    for (const e of events) if (e.filesTotal !== undefined) expect(e.filesTotal).toBeGreaterThanOrEqual(e.filesDone);
    return events.at(-1)!;
  };
  expect(await run()).toMatchObject({ filesDone: 5, filesTotal: 5 }); // scanned
  const extra = join(src, 'extra.txt');
  await writeFile(extra, 'grown\n');
  try {
    // The parent said 5 files; the walk finds 6: the total follows what is done.
    expect(await run()).toMatchObject({ filesDone: 6, filesTotal: 6 });
  } finally {
    await rm(extra);
  }
  // No pre-scan: the total is the parent's (6) although only 5 files are left.
  expect(await run()).toMatchObject({ filesDone: 5, filesTotal: 6 });
});
