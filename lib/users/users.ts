// User administration: create users with a role; list them without password hashes.
import { z } from 'zod';
import type { Db } from '../db/client';
import { hashPassword } from '../auth/password';
import { roles } from '../auth/rbac';

export const userInput = z.object({
  email: z.string({ error: 'is required' }).trim().toLowerCase().email('must be an e-mail address'),
  name: z.string({ error: 'is required' }).trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  role: z.enum(roles, { error: `must be one of ${roles.join(', ')}` }),
  password: z.string({ error: 'is required' }).min(12, 'must be at least 12 characters').max(200, 'must be at most 200 characters'),
});

export type PublicUser = { id: string; email: string; name: string; role: string; disabled: boolean; lastLoginAt: string | null };

export async function listUsers(db: Db): Promise<PublicUser[]> {
  const rows = await db.user.findMany({ orderBy: { email: 'asc' } });
  return rows.map((u) => ({ id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled, lastLoginAt: u.lastLoginAt?.toISOString() ?? null }));
}

export async function createUser(db: Db, raw: unknown): Promise<PublicUser> {
  const input = userInput.parse(raw);
  const u = await db.user.create({
    data: { email: input.email, name: input.name, role: input.role, passwordHash: await hashPassword(input.password) },
  });
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled, lastLoginAt: null };
}
