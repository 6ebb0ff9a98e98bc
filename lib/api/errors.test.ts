import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, toErrorResponse } from './errors';

describe('toErrorResponse', () => {
  it('maps validation errors to 400 with field messages', async () => {
    const parsed = z.object({ name: z.string().min(1, 'is required') }).safeParse({ name: '' });
    const res = toErrorResponse(parsed.error);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields).toEqual({ name: 'is required' });
  });

  it('hides unknown errors behind a generic 500', async () => {
    const logged: unknown[] = [];
    const res = toErrorResponse(new Error('password=hunter2 at db.ts:12'), (e) => logged.push(e));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(logged).toHaveLength(1);
  });

  it('keeps the status of a known code', async () => {
    expect(toErrorResponse(new ApiError('forbidden', 'no')).status).toBe(403);
    expect(toErrorResponse({ code: 'P2002', meta: { target: ['name'] } }).status).toBe(409);
    const fromAdapter = toErrorResponse({ code: 'P2002', meta: { driverAdapterError: { cause: { constraint: { index: 'StorageTarget_name_key' } } } } });
    expect((await fromAdapter.json()).error.fields).toEqual({ name: 'is already taken' });
  });
});
