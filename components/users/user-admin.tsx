'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { PublicUser } from '@/lib/users/users';
import { api, ApiFailure } from '../api-client';
import { Field, SelectField } from '../form-field';

export function UserAdmin({ initial }: { initial: PublicUser[] }) {
  const queryClient = useQueryClient();
  const { data: users = initial } = useQuery({
    queryKey: ['users'],
    queryFn: () => api<{ users: PublicUser[] }>('/api/users').then((r) => r.users),
    initialData: initial,
  });
  const [fields, setFields] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const body = Object.fromEntries(new FormData(formEl));
    setFields({});
    setMessage(null);
    try {
      await api('/api/users', { method: 'POST', body });
      formEl.reset();
      setMessage(`Created ${body.email}.`);
      await queryClient.invalidateQueries({ queryKey: ['users'] });
    } catch (err) {
      if (err instanceof ApiFailure) {
        setFields(err.fields);
        setMessage(err.message);
      }
    }
  }

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
        <form className="stack" onSubmit={submit} noValidate data-testid="add-user-form">
          <Field label="E-mail" name="email" type="email" error={fields.email} />
          <Field label="Name" name="name" error={fields.name} />
          <SelectField label="Role" name="role" defaultValue="viewer">
              <option value="viewer">viewer: reads dashboards</option>
              <option value="operator">operator: runs backups, restores to staging</option>
              <option value="approver">approver: approves production restores</option>
              <option value="admin">admin: configuration and users</option>
          </SelectField>
          <Field label="Initial password (12+ characters)" name="password" type="password" autoComplete="new-password" error={fields.password} />
          {message && <p className={Object.keys(fields).length ? 'error' : 'muted'} role="status">{message}</p>}
          <button type="submit">Add user</button>
        </form>
      </div>
    </>
  );
}
