// The runbook wrappers with the exact command lines existing cron jobs and runbooks use (temp dirs stand in
// for /var/www and /etc): scripts/backup.sh, scripts/restore.sh, scripts/verifybackup.py, run from the
// checkout (./scripts/...) and from another directory, against a local repository.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifeboatJson, cleanEnv, ROOT, run, SCRIPTS, utcDates, type Env } from './test-support';

let work: string;
let www: string;
let etc: string;
let env: Env;
const { today } = utcDates();

/** Runs `line` (split on spaces; no argument here contains one) with cwd = the checkout, or `cwd`. */
function sh(line: string, extra: Env = {}, cwd = ROOT) {
  const [cmd, ...args] = line.split(' ');
  return run(cmd!, args, { env: cleanEnv({ ...env, ...extra }), cwd });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-runbook-'));
  www = join(work, 'var', 'www');
  etc = join(work, 'etc');
  await mkdir(join(www, 'assets'), { recursive: true });
  await writeFile(join(www, 'index.html'), 'v1\n');
  await writeFile(join(www, 'assets', 'app.js'), 'console.log(1)\n');
  await mkdir(join(etc, 'nginx'), { recursive: true });
  await writeFile(join(etc, 'nginx', 'nginx.conf'), 'worker_processes 1;\n');
  await writeFile(join(etc, 'secret.key'), 'k\n', { mode: 0o600 });
  await chmod(join(etc, 'secret.key'), 0o600);
  env = { LIFEBOAT_REPOSITORY: join(work, 'repo'), LIFEBOAT_PASSWORD: 'runbook password' };
  await lifeboatJson(['--json', 'init'], env);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('scripts/backup.sh', () => {
  it('filesystem --path DIR backs up that directory as source "filesystem"', async () => {
    const r = await sh(`./scripts/backup.sh filesystem --path ${www}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/snapshot [0-9a-f]{8} saved \(full, complete\)/);
    const [snap] = await lifeboatJson<any[]>(['--json', 'snapshots'], env);
    expect(snap).toMatchObject({ source: { kind: 'filesystem', name: 'filesystem' }, paths: [www] });
  });

  it('config backs up the globs in LIFEBOAT_CONFIG_PATHS as source "config", from any directory', async () => {
    const r = await sh(`${SCRIPTS}/backup.sh config`, { LIFEBOAT_CONFIG_PATHS: `${etc}/nginx/**, ${etc}/*.key` }, tmpdir());
    expect(r.code, r.stderr).toBe(0);
    const snap = (await lifeboatJson<any[]>(['--json', 'snapshots', '--source-name', 'config'], env)).at(-1);
    expect(snap).toMatchObject({ source: { kind: 'config', name: 'config' }, summary: { files: 2 } });
    expect(snap.paths).toEqual([etc]); // where the globs start; nested roots merge
  });

  it('rejects unknown kinds and arguments with exit 2 and a usage message', async () => {
    for (const line of ['./scripts/backup.sh filesystem --path /x --frobnicate', './scripts/backup.sh tape', './scripts/backup.sh', './scripts/backup.sh filesystem']) {
      const r = await sh(line);
      expect(r.code, line).toBe(2);
      expect(r.stderr, line).toContain('usage: backup.sh');
    }
    const db = await sh('./scripts/backup.sh database --name app');
    expect(db.code).toBe(2);
    expect(db.stderr).toContain('unknown argument for database: --name');
  });
});

describe('scripts/restore.sh', () => {
  it('filesystem --backup-date D --target DIR puts the directory\'s contents directly into DIR', async () => {
    await writeFile(join(www, 'index.html'), 'damaged\n');
    await rm(join(www, 'assets'), { recursive: true });
    const old = await sh(`./scripts/restore.sh filesystem --backup-date 2024-01-15 --target ${www}`);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('no snapshot matches "2024-01-15"');
    const r = await sh(`./scripts/restore.sh filesystem --backup-date ${today} --target ${www}`);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(www, 'index.html'), 'utf8')).toBe('v1\n');
    expect(await readFile(join(www, 'assets', 'app.js'), 'utf8')).toBe('console.log(1)\n');
  });

  it('with several paths picks the one equal to --target, else asks for --path', async () => {
    const other = join(work, 'srv');
    await mkdir(other);
    await writeFile(join(other, 'data.txt'), 'srv\n');
    const b = await sh(`./scripts/backup.sh filesystem --path ${www} --path ${other} --source-name multi`);
    expect(b.code, b.stderr).toBe(0);
    const elsewhere = join(work, 'elsewhere');
    const ask = await sh(`./scripts/restore.sh filesystem --backup-date ${today} --source-name multi --target ${elsewhere}`);
    expect(ask.code).toBe(2);
    expect(ask.stderr).toContain('holds several paths');
    expect(ask.stderr).toContain(www);
    expect(ask.stderr).toContain(other);
    expect(ask.stderr).toContain('choose one with --path');
    const chosen = await sh(`./scripts/restore.sh filesystem --backup-date ${today} --source-name multi --path ${other} --target ${elsewhere}`);
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(await readFile(join(elsewhere, 'data.txt'), 'utf8')).toBe('srv\n');
    await rm(join(other, 'data.txt'));
    const same = await sh(`./scripts/restore.sh filesystem --backup-date ${today} --source-name multi --target ${other}`);
    expect(same.code, same.stderr).toBe(0);
    expect(await readFile(join(other, 'data.txt'), 'utf8')).toBe('srv\n');
  });

  it('config restores the config set to its original absolute paths with permissions', async () => {
    await rm(etc, { recursive: true });
    const r = await sh(`./scripts/restore.sh config --backup-date ${today}`);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(etc, 'nginx', 'nginx.conf'), 'utf8')).toBe('worker_processes 1;\n');
    expect((await stat(join(etc, 'secret.key'))).mode & 0o777).toBe(0o600);
  });

  it('rejects unknown arguments with exit 2', async () => {
    for (const line of ['./scripts/restore.sh filesystem --backup-date 2024-01-15', './scripts/restore.sh filesystem --target /tmp/x --when now', './scripts/restore.sh config --path /etc']) {
      const r = await sh(line);
      expect(r.code, line).toBe(2);
      expect(r.stderr, line).toContain('usage: restore.sh');
    }
  });
});

describe('scripts/verifybackup.py', () => {
  it('--backup-date D checks that restore point; exit code and output are the CLI\'s', async () => {
    const old = await sh('./scripts/verifybackup.py --backup-date 2024-01-15');
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('no snapshot matches "2024-01-15"');
    const r = await sh(`./scripts/verifybackup.py --backup-date ${today}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no errors were found');
  });

  it('--test-restore --backup-date D restores into a temporary directory and verifies every file', async () => {
    const old = await sh('./scripts/verifybackup.py --test-restore --backup-date 2024-01-15');
    expect(old.code).toBe(1);
    const r = await sh(`${SCRIPTS}/verifybackup.py --test-restore --backup-date ${today} --read-data-subset 50% --source-name filesystem`, {}, tmpdir());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test restore of [0-9a-f]{8}: 2 files/);
    expect(r.stdout).toContain('no errors were found');
  });

  it('passes the wrong-password exit code through and rejects unknown arguments with exit 2', async () => {
    const wrong = await sh('./scripts/verifybackup.py', { LIFEBOAT_PASSWORD: 'not it' });
    expect(wrong.code).toBe(12);
    expect(wrong.stderr).toContain('wrong password');
    const bad = await sh('./scripts/verifybackup.py --full-check');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage: verifybackup.py');
  });
});
