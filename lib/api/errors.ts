// One error shape for the whole API: { error: { code, message, fields? } }. A code maps to one HTTP status
// in one table; toErrorResponse turns ANY thrown value into a response and never leaks internals for
// unknown errors (logged server-side, answered with a generic 500).
import { z } from 'zod';

export const errorStatus = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const forbidden = (action: string) => new ApiError('forbidden', `Your role may not ${action}`);

/** Field-level messages from a zod error: { "endpoint": "must be a URL" }. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '_';
    fields[key] ??= issue.message;
  }
  return fields;
}

export function validationError(error: z.ZodError): ApiError {
  const fields = fieldErrors(error);
  const summary = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return new ApiError('validation_failed', `Invalid input: ${summary}`, fields);
}

type PrismaKnownError = {
  code?: string;
  meta?: { target?: unknown; modelName?: string; driverAdapterError?: { cause?: { constraint?: { fields?: string[]; index?: string } } } };
};

/** The field a unique violation is about: from the fields list, or from Postgres' index name Model_field_key. */
function uniqueField(e: PrismaKnownError): string {
  const constraint = e.meta?.driverAdapterError?.cause?.constraint;
  if (constraint?.fields?.[0]) return constraint.fields[0];
  if (Array.isArray(e.meta?.target) && typeof e.meta.target[0] === 'string') return e.meta.target[0];
  const match = constraint?.index?.match(/^[A-Za-z]+_(.+)_key$/);
  return match?.[1]?.split('_')[0] ?? 'value';
}

/** Prisma unique-constraint violations become 409 with the offending field named. */
function fromPrisma(err: unknown): ApiError | undefined {
  const e = err as PrismaKnownError;
  if (e?.code === 'P2002') {
    const field = uniqueField(e);
    return new ApiError('conflict', `A record with this ${field} already exists`, { [field]: 'is already taken' });
  }
  if (e?.code === 'P2025') return new ApiError('not_found', 'Record not found');
  return undefined;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return validationError(err);
  return fromPrisma(err) ?? new ApiError('internal', 'Internal error');
}

export function toErrorResponse(err: unknown, log: (err: unknown) => void = console.error): Response {
  const apiError = toApiError(err);
  if (apiError.code === 'internal') log(err);
  const body = { error: { code: apiError.code, message: apiError.message, ...(apiError.fields ? { fields: apiError.fields } : {}) } };
  return Response.json(body, { status: errorStatus[apiError.code] });
}
