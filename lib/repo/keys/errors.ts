/**
 * Typed errors of key-slot handling (docs/repository-format.md §4). Each carries a stable `code` for the
 * API's error table and a message for humans that names the slot (`keys/<id>`) or the store, and never
 * contains a passphrase, a key or a KMS plaintext.
 *
 * - WrongPasswordError     no passphrase slot opened with the passphrase given (or the slots are damaged:
 *                          AES-GCM cannot tell a wrong key from altered bytes).
 * - NoKeySlotError         the repository has no usable slot of the kind asked for.
 * - KeySlotFormatError     a slot is not valid JSON or breaks the §4 schema (names the field).
 * - KeySlotNotFoundError   the slot to remove or use does not exist.
 * - KeySlotRefusedError    a slot operation that would lock the repository out (removing the last slot).
 * - KmsError               AWS KMS refused or failed (names the key and the KMS error, never plaintexts).
 * - MasterKeyMismatchError the master key given does not open the repository's config.
 */

export type KeySlotErrorCode =
  | 'WRONG_PASSWORD'
  | 'NO_KEY_SLOT'
  | 'KEY_SLOT_INVALID'
  | 'KEY_SLOT_NOT_FOUND'
  | 'KEY_SLOT_REFUSED'
  | 'KMS_FAILED'
  | 'MASTER_KEY_MISMATCH';

export abstract class KeySlotError extends Error {
  abstract readonly code: KeySlotErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

const slots = (n: number) => `${n} key slot${n === 1 ? '' : 's'}`;

export class WrongPasswordError extends KeySlotError {
  readonly code = 'WRONG_PASSWORD' as const;
  readonly tried: number;
  constructor(tried: number, unreadable: KeySlotFormatError[] = []) {
    const extra = unreadable.length === 0 ? '' : `; ${slots(unreadable.length)} could not be read: ${unreadable.map((e) => e.message).join('; ')}`;
    super(`wrong password (tried ${slots(tried)})${extra}`);
    this.tried = tried;
  }
}

export class NoKeySlotError extends KeySlotError {
  readonly code = 'NO_KEY_SLOT' as const;
}

export class KeySlotFormatError extends KeySlotError {
  readonly code = 'KEY_SLOT_INVALID' as const;
  readonly slotId: string;
  constructor(slotId: string, problem: string, options?: { cause?: unknown }) {
    super(`keys/${slotId}: ${problem}`, options);
    this.slotId = slotId;
  }
}

export class KeySlotNotFoundError extends KeySlotError {
  readonly code = 'KEY_SLOT_NOT_FOUND' as const;
  constructor(slotId: string, store: string) {
    super(`key slot keys/${slotId} does not exist in ${store}`);
  }
}

export class KeySlotRefusedError extends KeySlotError {
  readonly code = 'KEY_SLOT_REFUSED' as const;
}

export class KmsError extends KeySlotError {
  readonly code = 'KMS_FAILED' as const;
}

export class MasterKeyMismatchError extends KeySlotError {
  readonly code = 'MASTER_KEY_MISMATCH' as const;
}

export { slots as countSlots };
