import { Suspense } from 'react';
import { LoginForm } from '@/components/login-form';

export const metadata = { title: 'Sign in · Lifeboat' };

export default function LoginPage() {
  return (
    <main className="login">
      <h1>Lifeboat</h1>
      <div className="panel">
        <Suspense>
          <LoginForm />
        </Suspense>
      </div>
    </main>
  );
}
