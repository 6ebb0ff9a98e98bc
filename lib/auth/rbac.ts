// Role-based access control: which role may do what. Pure and total: every permission is listed for every
// role, so adding a permission forces a decision for each role. Enforced on the server only.
export const roles = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

export const permissions = {
  /** See dashboards, sources, restore points, job runs, storage targets (never secrets). */
  'catalog:read': ['viewer', 'operator', 'approver', 'admin'],
  /** Start backups, verifies and storage checks; restore to staging. */
  'jobs:run': ['operator', 'approver', 'admin'],
  /** Request a production restore (runs only after someone else approves). */
  'restore:request': ['operator', 'approver', 'admin'],
  /** Approve or reject someone else's production restore. */
  'restore:approve': ['approver', 'admin'],
  /** Create, change and delete storage targets, sources, schedules and retention policies. */
  'config:manage': ['admin'],
  /** Create users, change roles, disable accounts, read the audit log. */
  'users:manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissions;

export function can(role: Role | undefined | null, permission: Permission): boolean {
  return !!role && (permissions[permission] as readonly Role[]).includes(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}
