/**
 * AWS KMS for key slots (docs/repository-format.md §4, kind "aws-kms"), as envelope encryption: KMS
 * GenerateDataKey(KeySpec AES_256) gives a 32-byte KEK (plaintext, used once and zeroed) and its
 * CiphertextBlob (stored in the slot); opening calls Decrypt(CiphertextBlob). The master key never goes to KMS.
 *
 * Consumers depend on the small KmsClientLike interface; AwsKmsClient implements it over @aws-sdk/client-kms
 * and always sends the encryption context {"lifeboat": "key-slot"} (bound into the ciphertext by KMS, so a
 * data key made for something else cannot be passed off as a slot's). Failures become KmsError naming the
 * operation, key, region and the KMS error name; plaintexts never appear in messages. The SDK retries
 * throttling and 5xx itself. Safe for concurrent use; call destroy() to release sockets. The SDK is loaded on
 * first use: most repositories have no KMS slot, and every CLI command would pay for loading it.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { commonJsExports } from '../../lazy-package';
import { KmsError } from './errors';

export interface KmsDataKey {
  /** The 32-byte data key; callers zero it after use. */
  plaintext: Buffer;
  ciphertextBlob: Buffer;
}

/** What key slots need from KMS. */
export interface KmsClientLike {
  generateDataKey(keyId: string): Promise<KmsDataKey>;
  decrypt(ciphertextBlob: Buffer, keyId: string): Promise<Buffer>;
}

/** Picks a client for a slot (slots may name keys in different regions). */
export type KmsClientFactory = (slot: { keyId: string; region: string }) => KmsClientLike;

export const KMS_ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = Object.freeze({ lifeboat: 'key-slot' });
export const KMS_DATA_KEY_BYTES = 32;

export interface AwsKmsClientOptions {
  region: string;
  /** e.g. a VPC endpoint or a KMS-compatible service; default: the AWS endpoint of the region. */
  endpoint?: string;
  /** Default: the SDK's credential chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

export class AwsKmsClient implements KmsClientLike {
  readonly region: string;
  private client: KMSClient | undefined;

  constructor(private readonly opts: AwsKmsClientOptions) {
    this.region = opts.region;
  }

  private async sdk() {
    const sdk = commonJsExports(await import('@aws-sdk/client-kms'));
    const { region, endpoint, credentials, maxAttempts } = this.opts;
    this.client ??= new sdk.KMSClient({ region, endpoint, credentials, maxAttempts });
    return { client: this.client, ...sdk };
  }

  async generateDataKey(keyId: string): Promise<KmsDataKey> {
    const { client, GenerateDataKeyCommand } = await this.sdk();
    const cmd = new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { ...KMS_ENCRYPTION_CONTEXT } });
    const res = await client.send(cmd).catch((err: unknown) => { throw this.fail('GenerateDataKey', keyId, err); });
    if (!res.Plaintext || !res.CiphertextBlob) throw this.fail('GenerateDataKey', keyId, new Error('response lacks Plaintext or CiphertextBlob'));
    const plaintext = checkDataKey(Buffer.from(res.Plaintext), 'GenerateDataKey', keyId);
    return { plaintext, ciphertextBlob: Buffer.from(res.CiphertextBlob) };
  }

  async decrypt(ciphertextBlob: Buffer, keyId: string): Promise<Buffer> {
    const { client, DecryptCommand } = await this.sdk();
    const cmd = new DecryptCommand({ CiphertextBlob: ciphertextBlob, KeyId: keyId, EncryptionContext: { ...KMS_ENCRYPTION_CONTEXT } });
    const res = await client.send(cmd).catch((err: unknown) => { throw this.fail('Decrypt', keyId, err); });
    if (!res.Plaintext) throw this.fail('Decrypt', keyId, new Error('response lacks Plaintext'));
    return checkDataKey(Buffer.from(res.Plaintext), 'Decrypt', keyId);
  }

  destroy(): void {
    this.client?.destroy();
  }

  private fail(op: string, keyId: string, err: unknown): KmsError {
    const e = err as { name?: string; message?: string };
    return new KmsError(`AWS KMS ${op} with key ${keyId} in ${this.region} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, { cause: err });
  }
}

function checkDataKey(key: Buffer, op: string, keyId: string): Buffer {
  if (key.length !== KMS_DATA_KEY_BYTES) {
    throw new KmsError(`AWS KMS ${op} with key ${keyId} returned a ${key.length}-byte data key, expected ${KMS_DATA_KEY_BYTES}`);
  }
  return key;
}

/** A KmsClientFactory making one AwsKmsClient per region (same endpoint and credentials for all). */
export function awsKmsClientFactory(opts: Omit<AwsKmsClientOptions, 'region'> = {}): KmsClientFactory & { destroy(): void } {
  const clients = new Map<string, AwsKmsClient>();
  const factory = ({ region }: { keyId: string; region: string }) => {
    let c = clients.get(region);
    if (!c) clients.set(region, (c = new AwsKmsClient({ ...opts, region })));
    return c;
  };
  return Object.assign(factory, { destroy: () => clients.forEach((c) => c.destroy()) });
}
