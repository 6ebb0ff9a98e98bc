// The password of the Lifeboat repository behind a storage target: the target's sealed
// repositoryPasswordEnc, else LIFEBOAT_REPOSITORY_PASSWORD, else a fresh random one sealed onto the target
// (first writer wins, so two workers racing on a new target agree on one password).
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/client';
import type { StorageTarget } from '../db/generated/client';
import { openSecret, sealSecret } from '../secrets/secret-box';

export async function repositoryPassword(db: Db, target: StorageTarget, secretKey: string): Promise<string> {
  if (target.repositoryPasswordEnc) return openSecret(target.repositoryPasswordEnc, secretKey);
  const password = process.env.LIFEBOAT_REPOSITORY_PASSWORD || randomBytes(24).toString('base64url');
  await db.storageTarget.updateMany({ where: { id: target.id, repositoryPasswordEnc: null }, data: { repositoryPasswordEnc: sealSecret(password, secretKey) } });
  const fresh = await db.storageTarget.findUniqueOrThrow({ where: { id: target.id } });
  return openSecret(fresh.repositoryPasswordEnc!, secretKey);
}

