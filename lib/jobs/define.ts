// A job kind = queue name + catalog kind + zod payload schema, declared once and imported by both the
// console (which enqueues) and the worker (which processes). Payloads carry ids only, never secrets:
// the worker looks everything else up in the catalog.
import { z } from 'zod';
import type { JobKind } from '../db/generated/enums';

export type JobDefinition<S extends z.ZodObject> = {
  queue: string;
  kind: JobKind;
  schema: S;
  /** BullMQ attempts for transient failures. */
  attempts: number;
};

export const jobBase = z.object({ jobRunId: z.string().min(1) });

export function defineJob<S extends z.ZodObject>(def: JobDefinition<S>): JobDefinition<S> {
  return def;
}

export type JobData<D> = D extends JobDefinition<infer S> ? z.output<S> : never;
