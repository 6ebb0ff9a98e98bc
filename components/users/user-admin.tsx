'use client';
import { useQuery } from '@tanstack/react-query';
import type { PublicUser } from '@/lib/users/users';
import { api } from '../api-client';
import { useApiForm } from '../use-api-form';
import { Field, SelectField } from '../form-field';

export function UserAdmin({ initial }: { initial: PublicUser[] }) {
  const { data: users = initial } = useQuery({
    queryKey: ['users'],
    queryFn: () => api<{ users: PublicUser[] }>('/api/users').then((r) => r.users),
    initialData: initial,
  });
  const { fields, message, onSubmit, failed } = useApiForm({
    url: '/api/users',
    invalidate: ['users'],
    done: (body) => `Created ${body.email}.`,
    toBody: (data) => Object.fromEntries(data),
  });

  return (
    <>
      <div className="panel">
        <table data-testid="users">
          <thead><tr><th>E-mail</th><th>Name</th><th>Role</th><th>Last sign-in</th></tr></thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td><td>{u.name}</td><td>{u.role}{u.disabled && ' (disabled)'}</td>
                <td className="muted">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : 'never'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Add a user</h2>
      <div className="panel">
        <form className="stack" onSubmit={onSubmit} noValidate data-testid="add-user-form">
          <Field label="E-mail" name="email" type="email" error={fields.email} />
          <Field label="Name" name="name" error={fields.name} />
          <SelectField label="Role" name="role" defaultValue="viewer">
              <option value="viewer">viewer: reads dashboards</option>
              <option value="operator">operator: runs backups, restores to staging</option>
              <option value="approver">approver: approves production restores</option>
              <option value="admin">admin: configuration and users</option>
          </SelectField>
          <Field label="Initial password (12+ characters)" name="password" type="password" autoComplete="new-password" error={fields.password} />
          {message && <p className={failed ? 'error' : 'muted'} role="status">{message}</p>}
          <button type="submit">Add user</button>
        </form>
      </div>
    </>
  );
}
