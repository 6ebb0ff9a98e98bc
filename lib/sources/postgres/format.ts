// How a PostgreSQL logical backup is laid out in a snapshot (format "postgres-logical/1").
//
// Tree: the root tree holds one directory `postgres` (mode 0700) holding one file per dump, mode 0600,
// mtime = when that dump started:
//   /postgres/<database>.dump   pg_dump --format=custom --compress=0 (the repository compresses and dedups)
//   /postgres/globals.sql       pg_dumpall --globals-only (roles, tablespaces), plain SQL, when taken
// A database name becomes a file name by percent-encoding "%", "/" and control characters (everything else
// is kept; the metadata, not the file name, says which database a file holds). The existing tree format,
// `lifeboat snapshots`, check and the filesystem restorer all work on it: `lifeboat restore` of such a
// snapshot yields the dump files themselves (usable with pg_restore by hand).
//
// snapshot.meta.postgres (parsed with postgresMetaSchema; readers ignore unknown fields):
//   { format: "postgres-logical/1", server: "15.4", pgDump: "pg_dump (PostgreSQL) 15.4", checksum: "sum-hashtext-v1",
//     databases: [{ name, file, bytes, encoding, collate, ctype, localeProvider, iculocale,
//                   startedAt, manifest: "checksum" | "count" | "none", tables: [{ schema, table, rows, checksum }] }],
//     globals: { file, bytes } | null }
// The manifest of a database is taken in the same MVCC snapshot as its dump (pg_dump --snapshot). It covers
// table rows only (manifest.ts says which tables); large objects, sequences' positions and schema objects are
// in the dump but not in the manifest.
import { z } from 'zod';
import { encodeTree, type TreeNode } from '../../repo/tree';

export const POSTGRES_FORMAT = 'postgres-logical/1';
export const DUMP_DIR = 'postgres';
export const GLOBALS_FILE = 'globals.sql';

const tableSchema = z.object({ schema: z.string(), table: z.string(), rows: z.number().int().nonnegative(), checksum: z.string().nullable() });

export const databaseEntrySchema = z.object({
  name: z.string().min(1),
  file: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  encoding: z.string().nullable(),
  collate: z.string().nullable(),
  ctype: z.string().nullable(),
  localeProvider: z.string().nullable().optional(),
  iculocale: z.string().nullable().optional(),
  startedAt: z.string(),
  manifest: z.enum(['checksum', 'count', 'none']),
  tables: z.array(tableSchema),
});

export const postgresMetaSchema = z.object({
  format: z.literal(POSTGRES_FORMAT),
  server: z.string(),
  pgDump: z.string(),
  checksum: z.string(),
  databases: z.array(databaseEntrySchema),
  globals: z.object({ file: z.string(), bytes: z.number().int().nonnegative() }).nullable(),
});

export type DatabaseEntry = z.output<typeof databaseEntrySchema>;
export type PostgresMeta = z.output<typeof postgresMetaSchema>;

/** A file name for a database's dump: "<name>.dump", with "%", "/" and control characters percent-encoded. */
export function dumpFileName(database: string): string {
  // eslint-disable-next-line no-control-regex
  return `${database.replace(/[%/\u0000-\u001f\u007f]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)}.dump`;
}

export type DumpFile = { name: string; content: string[]; size: number; mtime: Date };

const nsOf = (d: Date) => (BigInt(d.getTime()) * 1_000_000n).toString();

/** The encoded tree blob of the `postgres` directory (canonical: nodes sorted by UTF-8 name). */
export function dumpDirTree(files: DumpFile[]): Buffer {
  const nodes: TreeNode[] = [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    .map((f) => ({ name: f.name, type: 'file', mode: 0o100600, mtimeNs: nsOf(f.mtime), size: f.size, content: f.content }));
  return encodeTree({ nodes });
}

/** The encoded root tree: just one directory (`postgres` for dumps), mode 0700. */
export function rootTree(dirTreeId: string, time: Date, dirName = DUMP_DIR): Buffer {
  return encodeTree({ nodes: [{ name: dirName, type: 'dir', mode: 0o040700, mtimeNs: nsOf(time), size: 0, subtree: dirTreeId }] });
}

/** The PostgreSQL metadata of a snapshot, or an Error saying why it is not a PostgreSQL logical backup. */
export function readPostgresMeta(snapshot: { source: { kind: string; name: string }; meta: Record<string, unknown> }, what: string): PostgresMeta {
  if (snapshot.source.kind !== 'postgres') throw new Error(`${what} is a ${snapshot.source.kind} backup (source ${snapshot.source.name}), not a PostgreSQL one`);
  const parsed = postgresMetaSchema.safeParse(snapshot.meta.postgres);
  if (!parsed.success) throw new Error(`${what} holds no PostgreSQL logical backup description (meta.postgres): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
