/**
 * lib/repo/keys: the repository's key slots (docs/repository-format.md §4). Import from here; inner modules
 * may change. manage.ts adds/lists/removes slots, unlock.ts opens the master key, kms.ts is the KMS
 * adapter, errors.ts the typed errors.
 */
export {
  KeySlotError, KeySlotFormatError, KeySlotNotFoundError, KeySlotRefusedError, KmsError, MasterKeyMismatchError,
  NoKeySlotError, WrongPasswordError, type KeySlotErrorCode,
} from './errors';
export {
  addKmsSlot, addPassphraseSlot, changePassphrase, listKeySlots, removeKeySlot,
  type AddKmsSlotOptions, type AddPassphraseSlotOptions, type AddSlotOptions, type KeySlotInfo,
} from './manage';
export { SCRYPT_CONCURRENCY, openWithKms, openWithPassphrase, type OpenedKey } from './unlock';
export {
  AwsKmsClient, KMS_ENCRYPTION_CONTEXT, awsKmsClientFactory, type AwsKmsClientOptions, type KmsClientFactory,
  type KmsClientLike, type KmsDataKey,
} from './kms';
export { DEFAULT_SCRYPT, type ScryptParams } from './passphrase';
export { parseKeySlot, type KeySlot, type KeySlotKind } from './slot-format';
