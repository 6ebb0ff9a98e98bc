import 'server-only';
// Wrapper for every API route handler: authenticates, checks the permission, runs the handler and turns
// any error into the one error shape (lib/api/errors). Handlers stay thin: parse with zod, call lib, return.
import { can, type Permission } from '../auth/rbac';
import { getCurrentUser, type CurrentUser } from '../auth/session';
import { ApiError, toErrorResponse, validationError } from './errors';
import { log } from '../log';
import type { z } from 'zod';

type Params = Record<string, string>;
type Ctx<P extends Params> = { params: Promise<P> };

export function withPermission<P extends Params = Params>(
  permission: Permission,
  handler: (req: Request, ctx: { params: P; user: CurrentUser }) => Promise<Response>,
) {
  return async (req: Request, ctx: Ctx<P>): Promise<Response> => {
    try {
      const user = await getCurrentUser();
      if (!user) throw new ApiError('unauthenticated', 'Sign in first');
      if (!can(user.role, permission)) throw new ApiError('forbidden', `Your role (${user.role}) may not do this: it needs ${permission}`);
      return await handler(req, { params: await ctx.params, user });
    } catch (err) {
      return toErrorResponse(err, (e) => log.error({ err: e, url: req.url }, 'API error'));
    }
  };
}

/** Parses a JSON body with `schema`, answering 400 with field messages for malformed JSON or input. */
export async function parseBody<S extends z.ZodType>(req: Request, schema: S): Promise<z.output<S>> {
  let raw: unknown;
  try {
    raw = await req.json();
  } catch {
    throw new ApiError('validation_failed', 'Request body is not valid JSON', { _: 'expected a JSON object' });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}
