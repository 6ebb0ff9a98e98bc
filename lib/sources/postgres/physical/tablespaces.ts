// Where a recovered cluster's tablespaces go. A base backup holds each tablespace outside the data
// directory under pg_tblspc/<oid>/ (replication-stream.ts); the restore writes it to its original location,
// or to the directory `--tablespace-mapping OLD=NEW` names (pg_basebackup's and pgBackRest's convention),
// and makes pg_tblspc/<oid> a symlink to it. Each directory must be missing or empty: a restore next to the
// running original (a test restore, a copy to look at) must map its tablespaces, and is told so before
// anything is written.
import { dirname, isAbsolute, resolve } from 'node:path';
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import type { PhysicalMeta } from './format';

export class TablespaceError extends Error {
  name = 'TablespaceError';
}

export type TablespacePlacement = {
  /** oid -> the directory it is restored into. */
  dirs: Map<string, string>;
  /** Removes what the restore put there (directories it created go, ones that were empty are emptied again). */
  undo: () => Promise<void>;
};

/** Parses repeated `OLD=NEW` options (absolute directories; `\=` for a '=' in a name, as pg_basebackup -T). */
export function parseTablespaceMappings(specs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const m = /^((?:[^=\\]|\\.)+)=((?:[^=\\]|\\.)+)$/.exec(spec);
    const [from, to] = m ? [m[1]!, m[2]!].map((s) => s.replace(/\\(.)/g, '$1')) : [];
    if (!from || !to || !isAbsolute(from) || !isAbsolute(to)) {
      throw new TablespaceError(`--tablespace-mapping must be OLDDIR=NEWDIR with two absolute directories, got "${spec}"`);
    }
    if (out.has(resolve(from))) throw new TablespaceError(`--tablespace-mapping names ${from} twice`);
    out.set(resolve(from), resolve(to));
  }
  return out;
}

/**
 * Checks and prepares the directories of `meta`'s tablespaces: every mapping must name one of them, and
 * every target must be missing or empty and used once. Creates them, and the directories above them it
 * had to create, owned by `owner` (the server's OS user must reach them).
 */
export async function placeTablespaces(meta: PhysicalMeta, mappings: ReadonlyMap<string, string>, dataDir: string, owner: { uid: number; gid: number } | null): Promise<TablespacePlacement> {
  const spaces = meta.tablespaces ?? [];
  const locations = spaces.map((t) => resolve(t.location));
  for (const from of mappings.keys()) {
    if (!locations.includes(from)) {
      throw new TablespaceError(`--tablespace-mapping ${from}: the base backup has no tablespace there (${locations.length ? `its tablespaces: ${locations.join(', ')}` : 'it has no tablespaces outside the data directory'}); nothing was changed`);
    }
  }
  const dirs = new Map<string, string>();
  const seen = new Set<string>([resolve(dataDir)]);
  for (const [i, t] of spaces.entries()) {
    const dir = mappings.get(locations[i]!) ?? locations[i]!;
    if (seen.has(dir)) throw new TablespaceError(`tablespace ${t.oid} would be restored into ${dir}, which another part of this restore uses: map it elsewhere with --tablespace-mapping ${locations[i]}=NEWDIR; nothing was changed`);
    seen.add(dir);
    const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (entries && entries.length > 0) {
      throw new TablespaceError(
        `tablespace ${t.oid} goes to ${dir}${dir === locations[i] ? ' (its original location)' : ''}, which is not empty: restore it elsewhere with --tablespace-mapping ${locations[i]}=NEWDIR (a new or empty directory); nothing was changed`,
      );
    }
    dirs.set(t.oid, dir);
  }
  const created: string[] = [];
  const emptied: string[] = [];
  for (const dir of dirs.values()) {
    const made = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (made === undefined) emptied.push(dir);
    else created.push(made); // the topmost directory it had to create
    if (made !== undefined && owner) {
      for (let d = dir; ; d = dirname(d)) {
        await chown(d, owner.uid, owner.gid);
        if (d === made || d === dirname(d)) break;
      }
    }
  }
  return {
    dirs,
    undo: async () => {
      await Promise.all(created.map((d) => rm(d, { recursive: true, force: true })));
      await Promise.all(emptied.map(async (d) => Promise.all((await readdir(d).catch(() => [])).map((e) => rm(`${d}/${e}`, { recursive: true, force: true })))));
    },
  };
}
