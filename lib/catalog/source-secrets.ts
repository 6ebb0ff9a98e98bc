// Secrets of a source (the database password) sealed into Source.secretsEnc with lib/secrets/secret-box under
// LIFEBOAT_SECRET_KEY: "v1.<sealed JSON {password}>". The console seals on create/update and only ever
// reports `hasPassword`; the worker opens it right before it connects, inside the job. Nothing here logs.
import { openSecret, sealSecret } from '../secrets/secret-box';

export type SourceSecrets = { password?: string };

export function sealSourceSecrets(secrets: SourceSecrets, secretKey: string): string | null {
  if (secrets.password === undefined) return null;
  return sealSecret(JSON.stringify({ password: secrets.password }), secretKey);
}

/** The secrets of a source; {} when it has none. Throws SecretBoxError on a wrong key or altered value. */
export function openSourceSecrets(secretsEnc: string | null, secretKey: string): SourceSecrets {
  if (!secretsEnc) return {};
  const parsed = JSON.parse(openSecret(secretsEnc, secretKey)) as { password?: unknown };
  return typeof parsed.password === 'string' ? { password: parsed.password } : {};
}
