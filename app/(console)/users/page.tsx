import { requireUser } from '@/lib/auth/session';
import { db } from '@/lib/db/client';
import { listUsers } from '@/lib/users/users';
import { UserAdmin } from '@/components/users/user-admin';

export const dynamic = 'force-dynamic';

export default async function UsersPage() {
  await requireUser('users:manage');
  return (
    <>
      <h1>Users</h1>
      <UserAdmin initial={await listUsers(db())} />
    </>
  );
}
