import 'server-only';
// Server-side identity for pages, route handlers and server actions: the signed-in user re-read from the
// catalog (role and disabled state are current, not what the JWT said at login).
import { getServerSession } from 'next-auth';
import { redirect } from 'next/navigation';
import { db } from '../db/client';
import { authOptions } from './options';
import { can, type Permission, type Role } from './rbac';

export type CurrentUser = { id: string; email: string; name: string; role: Role };

export async function getCurrentUser(): Promise<CurrentUser | null> {
  const session = await getServerSession(authOptions);
  const id = (session?.user as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') return null;
  const user = await db().user.findUnique({ where: { id }, select: { id: true, email: true, name: true, role: true, disabled: true } });
  if (!user || user.disabled) return null;
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/** For server components and server actions: signed-in user with `permission`, or a redirect. */
export async function requireUser(permission: Permission = 'catalog:read'): Promise<CurrentUser> {
  const user = await getCurrentUser();
  if (!user) redirect('/login');
  if (!can(user.role, permission)) redirect('/denied');
  return user;
}
