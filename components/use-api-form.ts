'use client';
// The console's create forms: POST the form's body, show field-level errors from the API, reset and
// refresh the list on success. One place for what every create form does.
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure } from './api-client';

type Body = Record<string, unknown> & { name?: unknown; email?: unknown };

export function useApiForm(opts: { url: string; method?: 'POST' | 'PATCH'; keepValues?: boolean; toBody: (form: FormData) => Body; invalidate: QueryKey; done: (body: Body) => string }) {
  const queryClient = useQueryClient();
  const [fields, setFields] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const body = opts.toBody(new FormData(formEl));
    setBusy(true);
    setFields({});
    setMessage(null);
    try {
      await api(opts.url, { method: opts.method ?? 'POST', body });
      if (!opts.keepValues) formEl.reset();
      setMessage(opts.done(body));
      await queryClient.invalidateQueries({ queryKey: opts.invalidate });
    } catch (err) {
      if (err instanceof ApiFailure) {
        setFields(err.fields);
        setMessage(err.message);
      } else setMessage('Could not save: the console did not answer');
    } finally {
      setBusy(false);
    }
  }

  return { fields, message, busy, onSubmit, failed: Object.keys(fields).length > 0 };
}
