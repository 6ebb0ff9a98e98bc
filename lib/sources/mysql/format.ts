// How a MySQL/MariaDB logical backup is laid out in a snapshot (format "mysql-logical/1"; docs/mysql.md).
//
// Tree: the root tree holds one directory `mysql` (mode 0700) holding one file per database, mode 0600,
// mtime = when that dump started:
//   /mysql/<database>.sql   mariadb-dump (or mysqldump) --single-transaction --routines --triggers --events
//                           --hex-blob of that one database, WITHOUT --databases: no CREATE DATABASE / USE, so
//                           it loads into a database of any name (`mariadb NAME < file` by hand works too).
// File names percent-encode "%", "/" and control characters, as the PostgreSQL source does.
//
// snapshot.meta.mysql (parsed with mysqlMetaSchema; readers ignore unknown fields):
//   { format: "mysql-logical/1", server: "10.11.6-MariaDB", dumpTool: "mariadb-dump Ver ...", checksum: "sum-crc32-v1",
//     databases: [{ name, file, bytes, charset, collation, startedAt, manifest: "checksum" | "count" | "none",
//                   consistency: "locked-snapshot" | "dump-only",
//                   binlog: { file, position, gtid } | null,
//                   tables: [{ schema, table, engine, rows, checksum }] }] }
// `consistency` "locked-snapshot": the manifest and the binlog position were taken in the same InnoDB snapshot
// as the dump (backup.ts says how); "dump-only": no manifest was taken (manifest "none").
import { z } from 'zod';
import { encodeTree } from '../../repo/tree';
import { dumpDirTree, dumpFileName, type DumpFile } from '../postgres/format';

export const MYSQL_FORMAT = 'mysql-logical/1';
export const DUMP_DIR = 'mysql';
export { dumpDirTree, type DumpFile };

const tableSchema = z.object({
  schema: z.string(),
  table: z.string(),
  engine: z.string().nullable(),
  rows: z.number().int().nonnegative(),
  checksum: z.string().nullable(),
});

export const mysqlDatabaseSchema = z.object({
  name: z.string().min(1),
  file: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  charset: z.string().nullable(),
  collation: z.string().nullable(),
  startedAt: z.string(),
  manifest: z.enum(['checksum', 'count', 'none']),
  consistency: z.enum(['locked-snapshot', 'dump-only']),
  binlog: z.object({ file: z.string(), position: z.number().int().nonnegative(), gtid: z.string().nullable() }).nullable(),
  tables: z.array(tableSchema),
});

export const mysqlMetaSchema = z.object({
  format: z.literal(MYSQL_FORMAT),
  server: z.string(),
  dumpTool: z.string(),
  checksum: z.string(),
  databases: z.array(mysqlDatabaseSchema),
});

export type MysqlTableCheck = z.output<typeof tableSchema>;
export type MysqlDatabaseEntry = z.output<typeof mysqlDatabaseSchema>;
export type MysqlMeta = z.output<typeof mysqlMetaSchema>;
export type BinlogPosition = NonNullable<MysqlDatabaseEntry['binlog']>;

/** "<name>.sql", with "%", "/" and control characters percent-encoded. */
export function sqlFileName(database: string): string {
  return dumpFileName(database).replace(/\.dump$/, '.sql');
}

/** The encoded root tree: just the `mysql` directory. */
export function rootTree(dirTreeId: string, time: Date): Buffer {
  const mtimeNs = (BigInt(time.getTime()) * 1_000_000n).toString();
  return encodeTree({ nodes: [{ name: DUMP_DIR, type: 'dir', mode: 0o040700, mtimeNs, size: 0, subtree: dirTreeId }] });
}

/** The MySQL metadata of a snapshot, or an Error saying why it is not a MySQL/MariaDB logical backup. */
export function readMysqlMeta(snapshot: { source: { kind: string; name: string }; meta: Record<string, unknown> }, what: string): MysqlMeta {
  if (snapshot.source.kind !== 'mysql') throw new Error(`${what} is a ${snapshot.source.kind} backup (source ${snapshot.source.name}), not a MySQL/MariaDB one`);
  const parsed = mysqlMetaSchema.safeParse(snapshot.meta.mysql);
  if (!parsed.success) throw new Error(`${what} holds no MySQL/MariaDB logical backup description (meta.mysql): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
