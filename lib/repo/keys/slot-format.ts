/**
 * The key slot object (docs/repository-format.md §4): plaintext JSON under keys/<id>, validated with zod
 * when read. parseKeySlot throws KeySlotFormatError naming keys/<id> and the offending field for anything
 * that is not a well-formed version-1 slot (bad JSON, unknown version or kind, bad base64, wrong sizes,
 * scrypt parameters out of bounds). Unknown extra fields are ignored (forward compatibility).
 * wrapMasterKey/unwrapMasterKey seal and open the 64 master-key bytes under a KEK (AAD lifeboat/v1/key-slot,
 * payload 0x00 || key). Pure functions; no I/O.
 */
import { z } from 'zod';
import { decodePayload, COMPRESSION_NONE } from '../compress';
import { MASTER_KEY_BYTES, masterKeyBytes, masterKeyFromBytes, type MasterKey } from '../crypto/master-key';
import { AAD, BOX_FORMAT, BOX_OVERHEAD, open, seal } from '../crypto/sealed-box';
import { KeySlotFormatError } from './errors';
import { SALT_BYTES, scryptParamsSchema } from './passphrase';

export const KEY_SLOT_VERSION = 1;
/** A sealed box holding 0x00 + 64 key bytes. */
export const WRAPPED_BYTES = BOX_OVERHEAD + 1 + MASTER_KEY_BYTES;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = (what: string, size?: number) =>
  z.string().regex(BASE64, `${what} must be base64`).refine(
    (s) => size === undefined ? s.length > 0 : Buffer.from(s, 'base64').length === size,
    size === undefined ? `${what} must not be empty` : `${what} must be ${size} bytes`,
  );

const common = {
  version: z.literal(KEY_SLOT_VERSION),
  created: z.iso.datetime({ offset: true, error: 'created must be an RFC 3339 timestamp' }),
  label: z.string().max(1000, 'label must be at most 1000 characters'),
  hostname: z.string().max(255, 'hostname must be at most 255 characters'),
  wrapped: base64('wrapped', WRAPPED_BYTES)
    .refine((s) => Buffer.from(s, 'base64')[0] === BOX_FORMAT, `wrapped must be a sealed box (format byte 0x0${BOX_FORMAT})`),
};

export const passphraseSlotSchema = z.object({
  ...common,
  kind: z.literal('passphrase'),
  kdf: z.object({
    algorithm: z.literal('scrypt', { error: (iss) => `unknown kdf algorithm ${JSON.stringify(iss.input)} (known: scrypt)` }),
    salt: base64('salt', SALT_BYTES),
  }).and(scryptParamsSchema),
});

export const kmsSlotSchema = z.object({
  ...common,
  kind: z.literal('aws-kms'),
  kms: z.object({
    keyId: z.string().min(1, 'keyId must not be empty'),
    region: z.string().min(1, 'region must not be empty'),
    ciphertextBlob: base64('ciphertextBlob'),
  }),
});

export type PassphraseSlot = z.infer<typeof passphraseSlotSchema>;
export type KmsSlot = z.infer<typeof kmsSlotSchema>;
export type KeySlot = PassphraseSlot | KmsSlot;
export type KeySlotKind = KeySlot['kind'];
export const KEY_SLOT_KINDS: readonly KeySlotKind[] = ['passphrase', 'aws-kms'];

/** Parses and validates the bytes of keys/<id>. */
export function parseKeySlot(id: string, bytes: Buffer): KeySlot {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new KeySlotFormatError(id, 'key slot is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new KeySlotFormatError(id, 'key slot must be a JSON object');
  const { version, kind } = raw as Record<string, unknown>;
  if (version !== KEY_SLOT_VERSION) {
    throw new KeySlotFormatError(id, `field version: unsupported key slot version ${JSON.stringify(version)} (this Lifeboat reads version ${KEY_SLOT_VERSION})`);
  }
  const schema = kind === 'passphrase' ? passphraseSlotSchema : kind === 'aws-kms' ? kmsSlotSchema : undefined;
  if (!schema) throw new KeySlotFormatError(id, `field kind: unknown key slot kind ${JSON.stringify(kind)} (known: ${KEY_SLOT_KINDS.join(', ')})`);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `field ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new KeySlotFormatError(id, `invalid key slot: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export function serializeKeySlot(slot: KeySlot): Buffer {
  return Buffer.from(`${JSON.stringify(slot, null, 2)}\n`, 'utf8');
}

/** base64 of the sealed box wrapping the master key under kek. */
export function wrapMasterKey(kek: Buffer, masterKey: MasterKey): string {
  const payload = Buffer.concat([Buffer.of(COMPRESSION_NONE), masterKeyBytes(masterKey)]);
  const box = seal(kek, payload, AAD.keySlot);
  payload.fill(0);
  return box.toString('base64');
}

/** Opens `wrapped`; throws IntegrityError (from sealed-box) when the KEK is wrong or the box was altered. */
export function unwrapMasterKey(id: string, kek: Buffer, wrapped: string): MasterKey {
  const what = `keys/${id}`;
  const payload = decodePayload(open(kek, Buffer.from(wrapped, 'base64'), AAD.keySlot, what), what);
  if (payload.length !== MASTER_KEY_BYTES) {
    throw new KeySlotFormatError(id, `wrapped key is ${payload.length} bytes, expected ${MASTER_KEY_BYTES}`);
  }
  const key = masterKeyFromBytes(payload);
  payload.fill(0);
  return key;
}
