import { describe, expect, it } from 'vitest';
import { restoreTargetProblem, restoreRoots } from './restore-targets';
import { rpoStatus, sourceInput } from './sources';

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
    const r = sourceInput.safeParse({ name: 'bad name!', kind: 'postgres', storageTargetId: '', config: { paths: ['relative'] } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['name', 'kind', 'storageTargetId', 'config.paths.0']));
  });
});
