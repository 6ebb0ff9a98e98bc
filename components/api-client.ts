// Browser-side fetch helpers for the console's own API: JSON in, JSON out, the API's error shape turned
// into an ApiFailure carrying the field messages for forms.
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function api<T>(url: string, init?: { method?: string; body?: unknown }): Promise<T> {
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? undefined : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiFailure(body?.error?.message ?? `Request failed (${res.status})`, res.status, body?.error?.fields);
  return body as T;
}
