// The one Prisma client of a process (web or worker). Lazily created so that importing a module that uses
// the catalog never connects by itself; reused across Next.js hot reloads through globalThis.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';
import { readEnv } from '../config/env';

export type Db = InstanceType<typeof PrismaClient>;
export { PrismaClient };
export * from './generated/enums';

const holder = globalThis as unknown as { __lifeboatDb?: Db };

export function createDb(databaseUrl: string): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

export function db(): Db {
  holder.__lifeboatDb ??= createDb(readEnv(['DATABASE_URL']).DATABASE_URL);
  return holder.__lifeboatDb;
}
