import { describe, expect, it } from 'vitest';
import { restoreTargetProblem, restoreRoots } from './restore-targets';
import { newestRecoverable, rpoStatus, sourceInput } from './sources';
import { catalogMeta, restorePointContent } from './restore-points';
import { openSourceSecrets, sealSourceSecrets } from './source-secrets';

describe('rpoStatus', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    [null, 60, 'red', null],
    ['2026-01-01T11:30:00Z', 60, 'green', 30],
    ['2026-01-01T10:45:00Z', 60, 'amber', 75],
    ['2026-01-01T10:00:00Z', 60, 'red', 120],
  ] as const)('last %s with RPO %i min -> %s', (last, rpo, status, minutes) => {
    expect(rpoStatus(last ? new Date(last) : null, rpo, now)).toEqual({ status, minutes });
  });
});

describe('newestRecoverable', () => {
  const rp = new Date('2026-01-01T00:00:00Z');
  const wal = new Date('2026-01-01T11:55:00Z');
  it('counts archived WAL when it reaches further than the last restore point', () => {
    expect(newestRecoverable(rp, wal)).toEqual({ at: wal, from: 'WAL' });
    expect(newestRecoverable(null, wal)).toEqual({ at: wal, from: 'WAL' });
    expect(newestRecoverable(wal, rp)).toEqual({ at: wal, from: 'restore point' });
    expect(newestRecoverable(rp, null)).toEqual({ at: rp, from: 'restore point' });
    expect(newestRecoverable(null, null)).toEqual({ at: null, from: null });
    // A daily base backup with WAL archived up to 5 minutes ago meets a 1-hour RPO.
    expect(rpoStatus(newestRecoverable(rp, wal).at, 60, Date.parse('2026-01-01T12:00:00Z'))).toEqual({ status: 'green', minutes: 5 });
  });
});

describe('restore targets', () => {
  it('accepts only directories under the allowed roots', () => {
    const roots = restoreRoots({ LIFEBOAT_RESTORE_ROOTS: '/srv/restores, /mnt/r' });
    expect(roots).toEqual(['/srv/restores', '/mnt/r']);
    expect(restoreTargetProblem('/srv/restores/www', roots)).toBeNull();
    expect(restoreTargetProblem('/srv/restores', roots)).toBeNull();
    expect(restoreTargetProblem('/srv/restores/../../etc', roots)).toMatch(/allowed restore directories/);
    expect(restoreTargetProblem('/srv/restores-evil', roots)).toMatch(/allowed/);
    expect(restoreTargetProblem('relative', roots)).toMatch(/absolute/);
    expect(restoreRoots({ LIFEBOAT_DATA_DIR: '/data' })).toEqual(['/data/restores']);
  });
});

describe('source input', () => {
  it('names bad fields', () => {
    const r = sourceInput.safeParse({ name: 'bad name!', kind: 'oracle', storageTargetId: '', config: { paths: ['relative'] } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['name', 'kind', 'storageTargetId', 'config.paths.0']));
  });

  it('validates database connection settings by kind, with defaults', () => {
    const base = { name: 'db', storageTargetId: 't1' };
    const pg = sourceInput.parse({ ...base, kind: 'postgres', config: { host: 'db1', user: 'app', database: 'shop' }, password: 's3cret' });
    expect(pg.config).toEqual({ host: 'db1', port: 5432, user: 'app', database: 'shop', maintenanceDatabase: 'postgres', backupKind: 'logical', manifest: 'checksum', smokeQueries: [] });
    expect(pg.password).toBe('s3cret');
    const my = sourceInput.parse({ ...base, kind: 'mysql', config: { socket: '/run/mysqld/mysqld.sock', user: 'app', database: 'all' } });
    expect(my.config).toMatchObject({ socket: '/run/mysqld/mysqld.sock', port: 3306, database: 'all' });

    const bad = sourceInput.safeParse({ ...base, name: 'bad name!', kind: 'postgres', config: { host: '', port: 70000, database: 'x', backupKind: 'incremental', password: 'inline' } });
    expect(bad.success).toBe(false);
    const fields = Object.fromEntries(bad.error!.issues.map((i) => [i.path.join('.'), i.message]));
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(['name', 'config.host', 'config.port', 'config.user', 'config.backupKind', 'config.password']));
    expect(fields['config.password']).toMatch(/password field/);
    expect(sourceInput.safeParse({ ...base, kind: 'mysql', config: { user: 'a', database: 'b' } }).error!.issues[0]!.path).toEqual(['config', 'host']);
    expect(sourceInput.safeParse({ ...base, kind: 'filesystem', config: { paths: ['/srv'] }, password: 'x' }).error!.issues[0]!.path).toEqual(['password']);
  });

  it('classifies restore points and keeps only a digest of database manifests', () => {
    const meta = { postgres: { format: 'postgres-logical/1', databases: [{ name: 'shop', bytes: 10, tables: [{ rows: 3, checksum: '1' }, { rows: 4, checksum: '2' }] }] } };
    expect(catalogMeta(meta)).toEqual({ postgres: { format: 'postgres-logical/1', databases: [{ name: 'shop', bytes: 10, tableCount: 2, rows: 7 }] } });
    expect(restorePointContent({ meta: catalogMeta(meta) })).toEqual({ content: 'postgres-logical', databases: ['shop'] });
    expect(restorePointContent({ meta: { postgresPhysical: { systemId: '1' } } })).toEqual({ content: 'postgres-physical', databases: [] });
    expect(restorePointContent({ meta: { mysql: { databases: [{ name: 'a' }, { name: 'b' }] } } })).toEqual({ content: 'mysql-logical', databases: ['a', 'b'] });
    expect(restorePointContent({ paths: ['/srv'] })).toEqual({ content: 'files', databases: [] });
  });

  it('seals source secrets and opens them only with the key', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const sealed = sealSourceSecrets({ password: 'hunter2' }, key)!;
    expect(sealed).not.toContain('hunter2');
    expect(openSourceSecrets(sealed, key)).toEqual({ password: 'hunter2' });
    expect(sealSourceSecrets({}, key)).toBeNull();
    expect(() => openSourceSecrets(sealed, Buffer.alloc(32, 8).toString('base64'))).toThrow(/cannot be decrypted/);
  });
});
