// Input validation for storage targets (API and forms). Messages name the field and what it expects.
import { z } from 'zod';

const name = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'may contain letters, digits, spaces, dots, dashes and underscores');

const role = z.enum(['primary', 'replica', 'archive'], { error: 'must be primary, replica or archive' }).default('primary');

// S3 bucket naming rules (lowercase, 3-63, no leading/trailing dot or dash).
const bucket = z
  .string({ error: 'is required' })
  .trim()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, dots or dashes');

const prefix = z
  .string()
  .trim()
  .default('')
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative key prefix without ".."');

const endpoint = z
  .string()
  .trim()
  .refine((v) => {
    if (v === '') return true;
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL such as http://127.0.0.1:7480, or empty for AWS')
  .default('');

export const s3TargetInput = z.object({
  kind: z.literal('s3'),
  name,
  role,
  endpoint,
  region: z.string().trim().min(1, 'is required').default('us-east-1'),
  bucket,
  prefix,
  accessKeyId: z.string({ error: 'is required' }).trim().min(1, 'is required'),
  secretAccessKey: z.string({ error: 'is required' }).min(1, 'is required'),
  forcePathStyle: z.boolean().default(true),
  storageClass: z.string().trim().optional(),
});

export const localTargetInput = z.object({
  kind: z.literal('local'),
  name,
  role,
  path: z.string({ error: 'is required' }).trim().refine((p) => p.startsWith('/'), 'must be an absolute directory path'),
});

export const storageTargetInput = z.discriminatedUnion('kind', [s3TargetInput, localTargetInput], {
  error: 'kind must be "s3" or "local"',
});

export type StorageTargetInput = z.input<typeof storageTargetInput>;
