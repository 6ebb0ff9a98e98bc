// `lifeboat locks`, `unlock` and `maintenance`, and the index merge after a backup, as a user runs them:
// real CLI processes against a local directory and the RADOS Gateway (the S3 suite FAILS without
// LIFEBOAT_TEST_S3_*). Locks are planted through the library, as another host or a killed run leaves them.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BlobStore } from '../../lib/blob';
import type { MasterKey } from '../../lib/repo/crypto/master-key';
import { AAD } from '../../lib/repo/crypto/sealed-box';
import { writeIndexForPacks } from '../../lib/repo/index';
import { openRepository } from '../../lib/repo/init';
import { forEachBackend } from '../../lib/repo/keys/test-support';
import { objectKey } from '../../lib/repo/layout';
import { acquireLock, LOCK_VERSION } from '../../lib/repo/lock';
import { listObjectIds, saveObject } from '../../lib/repo/objects';
import { AUTO_COMPACT_INDEX_FILES } from '../../lib/repo/maintenance';
import { EXIT } from './errors';
import { lifeboat, lifeboatJson, repoEnv, writeRandomFile, type Env } from './test-support';

const PASSWORD = 'correct horse battery staple';
let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-maint-test-'));
  src = join(work, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'first\n');
  writeRandomFile(join(src, 'sub', 'b.bin'), 600 * 1024);
});

afterAll(() => rm(work, { recursive: true, force: true }));

/** A pid that ran on this host and has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function plantLock(store: BlobStore, key: MasterKey, over: { exclusive?: boolean; expiresInMs: number; host?: string; pid?: number; operation?: string }) {
  const t = Date.now();
  return saveObject(store, 'locks', key, AAD.lock, {
    version: LOCK_VERSION,
    time: new Date(t - 60_000).toISOString(),
    expires: new Date(t + over.expiresInMs).toISOString(),
    hostname: over.host ?? 'db-host-2',
    pid: over.pid ?? 4242,
    exclusive: over.exclusive ?? false,
    operation: over.operation ?? 'backup',
  });
}

forEachBackend((backend, fresh) => {
  let store: BlobStore;
  let env: Env;
  let key: MasterKey;

  beforeAll(async () => {
    store = await fresh();
    env = repoEnv(store, PASSWORD);
    await lifeboatJson(['--json', 'init'], env);
    key = (await openRepository(store, { passphrase: PASSWORD })).masterKey;
  });

  it('lists locks with their state; unlock removes expired and dead ones, --remove-all every one', async () => {
    expect((await lifeboat(['locks'], env)).stdout.trim()).toBe('no locks');
    const expired = await plantLock(store, key, { expiresInMs: -1000, operation: 'restore' });
    const dead = await plantLock(store, key, { expiresInMs: 200_000, host: hostname(), pid: deadPid() });
    const otherHost = await plantLock(store, key, { expiresInMs: 200_000, exclusive: true, operation: 'maintenance' });
    await store.put(objectKey('locks', 'f'.repeat(64)), () => Buffer.from('not a lock'), { contentLength: 10 });

    const rows = await lifeboatJson<{ id: string; state: string; operation?: string }[]>(['--json', 'locks'], env);
    const stateOf = (id: string) => rows.find((r) => r.id === id)?.state;
    expect([stateOf(expired), stateOf(dead), stateOf(otherHost), stateOf('f'.repeat(64))]).toEqual(['stale', 'dead', 'live', 'unreadable']);
    const human = await lifeboat(['locks'], env);
    expect(human.stdout).toMatch(new RegExp(`${otherHost.slice(0, 8)}\\s+live\\s+exclusive\\s+maintenance\\s+db-host-2\\s+4242`));

    const unlock = await lifeboatJson<{ removed: string[]; unreadable: string[] }>(['--json', 'unlock'], env);
    expect(unlock.removed.sort()).toEqual([expired, dead].sort());
    expect(unlock.unreadable).toEqual(['f'.repeat(64)]);
    expect((await listObjectIds(store, 'locks')).sort()).toEqual([otherHost, 'f'.repeat(64)].sort());

    const all = await lifeboat(['unlock', '--remove-all'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('removed 2 lock(s):');
    expect(all.stdout).toContain(`${otherHost.slice(0, 8)}: live, locked exclusively by maintenance on host db-host-2 (pid 4242)`);
    expect(await listObjectIds(store, 'locks')).toEqual([]);
  }, 120_000);

  it('merges index files after a backup once there are many, and maintenance merges any small ones', async () => {
    // Empty index files are valid (format §8): they stand in for the files of many earlier backups.
    for (let i = 0; i < AUTO_COMPACT_INDEX_FILES; i++) await writeIndexForPacks(store, key, []);
    await writeFile(join(src, 'a.txt'), 'first\n');
    const first = await lifeboatJson(['--json', 'backup', '--source-name', 's', src], env);
    const merged = first.housekeeping.indexCompaction;
    expect(merged.before).toBeGreaterThanOrEqual(AUTO_COMPACT_INDEX_FILES + 1);
    expect(merged.written).toHaveLength(1);
    expect(merged.removed).toHaveLength(merged.before);
    expect(await listObjectIds(store, 'index')).toEqual(merged.written);

    // Below the threshold a backup leaves its index file alone; maintenance then merges the two.
    await writeFile(join(src, 'a.txt'), 'second\n');
    const second = await lifeboatJson(['--json', 'backup', '--source-name', 's', src], env);
    expect(second.housekeeping.indexCompaction).toBeNull();
    expect(await listObjectIds(store, 'index')).toHaveLength(2);

    // While another run holds a lock, maintenance waits for nobody: exit 11, nothing merged.
    const held = await acquireLock(store, key, { exclusive: false, operation: 'restore', autoRefresh: false });
    const busy = await lifeboat(['maintenance'], env);
    expect(busy.code, busy.stderr).toBe(EXIT.locked);
    expect(busy.stderr).toContain('locked by restore');
    await held.release();

    expect((await lifeboatJson(['--json', 'stats'], env)).indexFiles).toBe(2);
    const m = await lifeboatJson(['--json', 'maintenance'], env);
    expect(m.index.compacted).toMatchObject({ before: 2, after: 1 });
    expect(await listObjectIds(store, 'index')).toEqual(m.index.compacted.written);
    expect((await lifeboatJson(['--json', 'stats'], env)).indexFiles).toBe(1);
    const human = await lifeboat(['maintenance'], env);
    expect(human.stdout).toContain('index: 1 file(s), nothing to merge');

    // Both restore points restore from the merged index.
    for (const [snap, text] of [[first.id, 'first\n'], [second.id, 'second\n']] as const) {
      const target = join(work, `restore-${backend}-${snap.slice(0, 8)}`);
      const r = await lifeboat(['restore', snap, '--target', target, '--path', src], env);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe(text);
      expect((await readFile(join(target, 'sub', 'b.bin'))).equals(await readFile(join(src, 'sub', 'b.bin')))).toBe(true);
    }
    expect(await lifeboatJson(['--json', 'verify', '--read-data'], env)).toMatchObject({ ok: true, snapshots: 2, errors: [] });
  }, 180_000);
});
