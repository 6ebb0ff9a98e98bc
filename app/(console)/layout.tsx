import Link from 'next/link';
import type { ReactNode } from 'react';
import { requireUser } from '@/lib/auth/session';
import { can } from '@/lib/auth/rbac';
import { SignOutButton } from '@/components/sign-out-button';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requireUser('catalog:read');
  return (
    <>
      <header className="top">
        <Link href="/" className="brand">Lifeboat</Link>
        <nav style={{ display: 'flex', gap: 18 }}>
          <Link href="/">Dashboard</Link>
          <Link href="/sources">Sources</Link>
          <Link href="/storage">Storage</Link>
          <Link href="/jobs">Jobs</Link>
          {can(user.role, 'users:manage') && <Link href="/users">Users</Link>}
        </nav>
        <span className="spacer" />
        <span className="who" data-testid="who">{user.name} · {user.role}</span>
        <SignOutButton />
      </header>
      <main>{children}</main>
    </>
  );
}
