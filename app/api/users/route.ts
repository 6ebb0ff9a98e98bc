import { withPermission, parseBody } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { createUser, listUsers, userInput } from '@/lib/users/users';

export const GET = withPermission('users:manage', async () => Response.json({ users: await listUsers(db()) }));

export const POST = withPermission('users:manage', async (req, { user }) => {
  const input = await parseBody(req, userInput);
  const created = await createUser(db(), input);
  await audit(db(), { actorId: user.id, action: 'user.create', entityType: 'User', entityId: created.id, details: { email: created.email, role: created.role } });
  return Response.json({ user: created }, { status: 201 });
});
