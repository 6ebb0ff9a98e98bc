import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

/** A labelled input with its field-level error; label and control are linked by id, not nesting. */
export function Field({ label, name, error, ...input }: { label: string; name: string; error?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={!!error} {...input} />
      {error && <span className="field-error" data-testid={`error-${name}`}>{error}</span>}
    </div>
  );
}

export function SelectField({ label, name, children, ...select }: { label: string; name: string; children: ReactNode } & React.SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} {...select}>
        {children}
      </select>
    </div>
  );
}
