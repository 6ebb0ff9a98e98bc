// Worker-side: turns a database source's catalog row into the connection the engines take (lib/sources/
// postgres, lib/sources/mysql), opening its sealed password. Only the worker calls this, inside a job; the
// password then lives in the engine's memory and child environments / private option files (see the
// engines' connection.ts), never in a payload, a result, a log line or an error message.
import type { Source } from '../db/generated/client';
import type { MysqlConnection } from '../sources/mysql/connection';
import type { PgConnection } from '../sources/postgres/connection';
import { databaseConfigFor, isDatabaseKind, type DatabaseKind, type MysqlConfig, type PostgresConfig } from './database-config';
import { openSourceSecrets } from './source-secrets';

export class DatabaseSourceError extends Error {
  name = 'DatabaseSourceError';
}

export type DatabaseSource =
  | { kind: 'postgres'; name: string; config: PostgresConfig; password: string | undefined }
  | { kind: 'mysql'; name: string; config: MysqlConfig; password: string | undefined };

/** The validated settings and opened password of a postgres or mysql source; DatabaseSourceError when unusable. */
export function loadDatabaseSource(source: Pick<Source, 'name' | 'kind' | 'config' | 'secretsEnc'>, secretKey: string): DatabaseSource {
  if (!isDatabaseKind(source.kind)) throw new DatabaseSourceError(`source ${source.name} is a ${source.kind} source, not a database`);
  const parsed = databaseConfigFor(source.kind as DatabaseKind).safeParse(source.config);
  if (!parsed.success) {
    throw new DatabaseSourceError(`source ${source.name} has incomplete or invalid connection settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  let password: string | undefined;
  try {
    password = openSourceSecrets(source.secretsEnc, secretKey).password;
  } catch (err) {
    throw new DatabaseSourceError(`the stored password of source ${source.name} cannot be opened: ${(err as Error).message}`);
  }
  return source.kind === 'postgres'
    ? { kind: 'postgres', name: source.name, config: parsed.data as PostgresConfig, password }
    : { kind: 'mysql', name: source.name, config: parsed.data as MysqlConfig, password };
}

export function pgConnectionOf(config: PostgresConfig, password: string | undefined, database: string): PgConnection {
  return { host: config.host, port: config.port, user: config.user, password, database, sslmode: config.sslmode };
}

export function mysqlConnectionOf(config: MysqlConfig, password: string | undefined, database: string): MysqlConnection {
  return config.socket
    ? { socket: config.socket, user: config.user, password, database }
    : { host: config.host, port: config.port, user: config.user, password, database };
}
