// The `database` kind of the runbook wrappers without a database server: argument checking (exit 2 with the
// usage text), --full accepted for compatibility, and the options reaching `lifeboat database backup |
// restore` (seen in the CLI's error naming user@host:port/database for a port nothing listens on).
// The round trip against a real cluster is in database.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, closedPort, lifeboatJson, ROOT, run, type Env } from './test-support';

let work: string;
let env: Env;

function script(name: string, args: string[]) {
  return run(join(ROOT, 'scripts', name), args, { env: cleanEnv(env), cwd: tmpdir() });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-runbook-db-'));
  env = { LIFEBOAT_REPOSITORY: join(work, 'repo'), LIFEBOAT_PASSWORD: 'runbook password', PGHOST: undefined, PGPORT: undefined, PGUSER: undefined, PGDATABASE: undefined, PGPASSWORD: undefined };
  await lifeboatJson(['--json', 'init'], env);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('scripts/backup.sh database', () => {
  it('passes --database, --host, --port, --user to `lifeboat database backup` and accepts --full', async () => {
    const port = await closedPort();
    const r = await script('backup.sh', ['database', '--database', 'app', '--host', '127.0.0.1', '--port', String(port), '--user', 'backup_role', '--full']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^lifeboat: cannot connect to PostgreSQL as backup_role@127\\.0\\.0\\.1:${port}/app: .*ECONNREFUSED`));
  });

  it('defaults to all databases (connecting to the maintenance database)', async () => {
    const port = await closedPort();
    const r = await script('backup.sh', ['database', '--host', '127.0.0.1', '--port', String(port), '--user', 'backup_role']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot connect to PostgreSQL as backup_role@127.0.0.1:${port}/postgres`);
  });

  it('rejects unknown arguments and missing values with exit 2 and the usage text; --help documents --full', async () => {
    for (const args of [['database', '--name', 'app'], ['database', '--database'], ['database', '--exclude', '*.tmp']]) {
      const r = await script('backup.sh', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('usage: backup.sh');
    }
    const help = await script('backup.sh', ['database', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('backup.sh database [--engine postgres|mysql|mariadb] [--database NAME|all]');
    expect(help.stdout).toContain('--full is accepted for compatibility and changes nothing');
  });
});

describe('scripts/restore.sh database', () => {
  it('needs --target-database; rejects unknown arguments with exit 2', async () => {
    for (const args of [['database', '--backup-date', '2024-01-15'], ['database', '--target-database', 'x', '--target', '/tmp/x'], ['database', '--target-database']]) {
      const r = await script('restore.sh', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('usage: restore.sh');
    }
    const missing = await script('restore.sh', ['database', '--backup-date', '2024-01-15']);
    expect(missing.stderr).toContain('restore.sh: database needs --target-database NAME');
  });

  it('runs `lifeboat database restore` for the newest PostgreSQL restore point on or before the date', async () => {
    const r = await script('restore.sh', ['database', '--backup-date', '2024-01-15', '--source-name', 'app-db', '--target-database', 'app', '--overwrite', '--jobs', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('lifeboat: no snapshot matches "2024-01-15" (filtered by source postgres/app-db; 0 snapshots in the repository, 0 after filtering), nor among the snapshots of source mysql/app-db\n');
  });
});
