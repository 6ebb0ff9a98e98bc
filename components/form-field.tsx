import type { InputHTMLAttributes } from 'react';

export function Field({ label, name, error, ...input }: { label: string; name: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label>
      {label}
      <input name={name} aria-invalid={!!error} {...input} />
      {error && <span className="field-error" data-testid={`error-${name}`}>{error}</span>}
    </label>
  );
}
