import { describe, expect, it } from 'vitest';
import { can, permissions, roles } from './rbac';

describe('rbac', () => {
  it.each([
    ['viewer', 'catalog:read', true],
    ['viewer', 'jobs:run', false],
    ['viewer', 'config:manage', false],
    ['operator', 'jobs:run', true],
    ['operator', 'restore:approve', false],
    ['approver', 'restore:approve', true],
    ['approver', 'config:manage', false],
    ['admin', 'config:manage', true],
    ['admin', 'users:manage', true],
  ] as const)('%s %s -> %s', (role, perm, expected) => {
    expect(can(role, perm)).toBe(expected);
  });

  it('denies a missing role everything', () => {
    for (const p of Object.keys(permissions) as (keyof typeof permissions)[]) expect(can(undefined, p)).toBe(false);
  });

  it('admin can do everything', () => {
    for (const p of Object.keys(permissions) as (keyof typeof permissions)[]) expect(can('admin', p)).toBe(true);
    expect(roles).toContain('admin');
  });
});
