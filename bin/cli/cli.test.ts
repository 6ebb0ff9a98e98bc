// The lifeboat CLI as a user runs it: real `node bin/lifeboat.mjs` processes, configured only through the
// environment, against a local directory and the RADOS Gateway (the S3 suite FAILS without
// LIFEBOAT_TEST_S3_*). Round trip, JSON output, key slots, stats, snapshot selection by date, error exits
// (wrong password 12, no repository 10, no password 2), and the progress line on a terminal only.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachBackend } from '../../lib/repo/keys/test-support';
import { CLI, cleanEnv, lifeboat, lifeboatJson, repoEnv, run, shq, utcDates, writeRandomFile, type Env } from './test-support';

let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cli-test-'));
  src = join(work, 'www');
  await mkdir(join(src, 'img'), { recursive: true });
  await writeFile(join(src, 'index.html'), '<h1>hello</h1>\n');
  await writeFile(join(src, 'img', 'logo.svg'), '<svg/>\n', { mode: 0o640 });
  writeRandomFile(join(src, 'img', 'photo.bin'), 3 * 1024 * 1024);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

forEachBackend((backend, fresh) => {
  let env: Env;

  beforeAll(async () => {
    env = repoEnv(await fresh());
  });

  it('init, backup, snapshots, restore, verify, stats round trip with --json', async () => {
    const init = await lifeboatJson(['--json', 'init'], env);
    expect(init.id).toMatch(/^[0-9a-f]{64}$/);

    const first = await lifeboatJson(['--json', 'backup', '--source-name', 'www', '--tag', 'nightly', src], env);
    expect(first).toMatchObject({ mode: 'full', status: 'complete', source: { kind: 'filesystem', name: 'www' }, paths: [src], tags: ['nightly'] });
    expect(first.summary).toMatchObject({ files: 3, newFiles: 3 });
    const second = await lifeboatJson(['--json', 'backup', '--source-name', 'www', '--path', src], env);
    expect(second).toMatchObject({ mode: 'incremental', parent: first.id });
    expect(second.summary).toMatchObject({ files: 3, unchangedFiles: 3, addedBytes: expect.any(Number) });
    expect(second.summary.addedBytes).toBeLessThan(10_000);

    const list = await lifeboatJson<any[]>(['--json', 'snapshots'], env);
    expect(list.map((s) => s.id)).toEqual([first.id, second.id]);
    const human = await lifeboat(['snapshots', '--source-name', 'www'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(second.id.slice(0, 8));

    const target = join(work, `restore-${backend}`);
    const restored = await lifeboatJson(['--json', 'restore', first.id.slice(0, 12), '--target', target, '--path', src], env);
    expect(restored).toMatchObject({ snapshot: first.id, files: 3, verifiedFiles: 3, errors: [] });
    expect(await readFile(join(target, 'index.html'), 'utf8')).toBe('<h1>hello</h1>\n');
    const same = (await readFile(join(target, 'img', 'photo.bin'))).equals(await readFile(join(src, 'img', 'photo.bin')));
    expect(same, 'restored photo.bin equals the original').toBe(true);

    const verify = await lifeboatJson(['--json', 'verify', '--read-data'], env);
    expect(verify).toMatchObject({ ok: true, snapshots: 2, errors: [] });
    expect(verify.packsRead).toBeGreaterThan(0);
    const subset = await lifeboatJson(['--json', 'verify', '--read-data-subset', '50%', '--test-restore'], env);
    expect(subset).toMatchObject({ ok: true, testRestore: { snapshot: second.id, files: 3, errors: [] } });

    const stats = await lifeboatJson(['--json', 'stats'], env);
    expect(stats).toMatchObject({
      snapshots: 2,
      sources: [{ kind: 'filesystem', name: 'www', snapshots: 2, latest: { id: second.id, bytes: second.summary.bytes } }],
      latestLogicalBytes: second.summary.bytes,
      totalLogicalBytes: first.summary.bytes + second.summary.bytes,
      dataBlobs: expect.any(Number),
      unindexedPacks: 0,
    });
    expect(stats.storedBytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(stats.blobs).toBe(stats.dataBlobs + stats.treeBlobs);
    expect(stats.dedupRatio).toBeGreaterThan(1.9); // the same data twice, stored once
    const statsHuman = await lifeboat(['stats'], env);
    expect(statsHuman.stdout).toMatch(/dedup ratio 2\.\d\dx/);
  });

  it('selects restore points by --backup-date (today matches, yesterday does not)', async () => {
    const { today, yesterday } = utcDates();
    const latest = (await lifeboatJson<any[]>(['--json', 'snapshots'], env)).at(-1);
    const target = join(work, `by-date-${backend}`);
    const ok = await lifeboatJson(['--json', 'restore', '--backup-date', today, '--source-name', 'www', '--path', 'auto', '--target', target], env);
    expect(ok).toMatchObject({ snapshot: latest.id, path: src, files: 3 });
    const none = await lifeboat(['restore', '--backup-date', yesterday, '--target', target], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no snapshot matches "${yesterday}"`);
    const verifyNone = await lifeboat(['verify', '--backup-date', yesterday], env);
    expect(verifyNone.code).toBe(1);
    expect(verifyNone.stderr).toContain('no snapshot matches');
    const bad = await lifeboat(['restore', '--backup-date', '15/01/2024', '--target', target], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--backup-date must be YYYY-MM-DD');
  });

  it('manages key slots, reads the password from a file, and exits 12 on a wrong password', async () => {
    const added = await lifeboatJson(['--json', 'key', 'add', '--label', 'ops'], { ...env, LIFEBOAT_NEW_PASSWORD: 'second password' });
    const slots = await lifeboatJson<any[]>(['--json', 'key', 'list'], env);
    expect(slots).toHaveLength(2);
    expect(slots.find((s) => s.id === added.id)).toMatchObject({ label: 'ops', current: false });
    expect(JSON.stringify(slots)).not.toContain('second password');

    const file = join(work, `password-${backend}`);
    await writeFile(file, 'second password\n', { mode: 0o600 });
    const viaFile = await lifeboat(['--json', 'key', 'list'], { ...env, LIFEBOAT_PASSWORD: undefined, LIFEBOAT_PASSWORD_FILE: file });
    expect(viaFile.code).toBe(0);
    expect(JSON.parse(viaFile.stdout).find((s: any) => s.current).id).toBe(added.id);

    const removed = await lifeboatJson(['--json', 'key', 'remove', added.id.slice(0, 10)], env);
    expect(removed.removed).toBe(added.id);
    const wrong = await lifeboat(['snapshots'], { ...env, LIFEBOAT_PASSWORD: undefined, LIFEBOAT_PASSWORD_FILE: file });
    expect(wrong.code).toBe(12);
    expect(wrong.stderr).toContain('wrong password');
    expect(wrong.stderr).not.toContain('second password');
  });

  it('exits 10 when there is no repository at the location, 2 without a password', async () => {
    const elsewhere = repoEnv(await fresh());
    const missing = await lifeboat(['snapshots'], elsewhere);
    expect(missing.code).toBe(10);
    expect(missing.stderr).toMatch(/no Lifeboat repository at .*lifeboat init/);
    const noPassword = await lifeboat(['snapshots'], { ...env, LIFEBOAT_PASSWORD: undefined });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('LIFEBOAT_PASSWORD');
  });
});

describe('errors without a backend', () => {
  it('names the missing setting when LIFEBOAT_REPOSITORY is unset (exit 2); unknown options are usage errors (exit 2)', async () => {
    const unset = await lifeboat(['snapshots'], { LIFEBOAT_PASSWORD: 'x' });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('LIFEBOAT_REPOSITORY');
    const usage = await lifeboat(['backup', '--no-such-option'], { LIFEBOAT_PASSWORD: 'x' });
    expect(usage.code).toBe(2);
  });

  it('catalog sync names DATABASE_URL when it is not set (the catalog is loaded only for that command)', async () => {
    const r = await lifeboat(['catalog', 'sync', '--storage-target', 'primary'], { LIFEBOAT_REPOSITORY: join(work, 'nowhere'), LIFEBOAT_PASSWORD: 'x', DATABASE_URL: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL is not set');
  });

  it('exits 10 for a directory that holds no repository', async () => {
    const empty = join(work, 'empty-dir');
    await mkdir(empty, { recursive: true });
    const r = await lifeboat(['snapshots'], { LIFEBOAT_REPOSITORY: empty, LIFEBOAT_PASSWORD: 'x' });
    expect(r.code).toBe(10);
  });
});

describe('progress line', () => {
  let env: Env;
  beforeAll(async () => {
    env = { LIFEBOAT_REPOSITORY: join(work, 'tty-repo'), LIFEBOAT_PASSWORD: 'pw' };
    await lifeboatJson(['--json', 'init'], env);
  });

  it('is redrawn with \\r and shows a percentage on a terminal, and absent otherwise', async () => {
    const hasScript = spawnSync('script', ['--version']).status === 0;
    expect(hasScript, 'util-linux `script` is needed to give the CLI a terminal').toBe(true);
    const cmd = `${shq(process.execPath)} ${shq(CLI)} backup --full ${shq(src)}`;
    const tty = await run('script', ['-qec', cmd, '/dev/null'], { env: cleanEnv(env) });
    expect(tty.code, tty.stdout + tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\rbackup +\d+(\.\d)?% [^\r\n]*of 3\.0 MiB/);
    expect(tty.stdout).toContain('snapshot ');

    const piped = await lifeboat(['backup', '--full', src], env);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toContain('\r');
    expect(piped.stdout).not.toMatch(/\d%/);
  });
});
