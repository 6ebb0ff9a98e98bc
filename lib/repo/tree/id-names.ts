// User and group names for tree nodes, from /etc/passwd and /etc/group (no native bindings, no NSS: users
// known only to LDAP/SSSD get no name, which is allowed: names are optional, restores fall back to ids).
// loadIdNames() reads both files once and caches the result per path pair (clearIdNamesCache() forgets it);
// a missing or unreadable file yields no names rather than an error. The first entry for an id wins, as
// getpwuid does. Lookups are synchronous and safe to share across concurrent backups.
import { readFile } from 'node:fs/promises';

export interface IdNames {
  user(uid: number): string | undefined;
  group(gid: number): string | undefined;
}

export interface IdNameFiles {
  passwd?: string;
  group?: string;
}

const cache = new Map<string, Promise<IdNames>>();

export function loadIdNames(files: IdNameFiles = {}): Promise<IdNames> {
  const passwd = files.passwd ?? '/etc/passwd';
  const group = files.group ?? '/etc/group';
  const key = `${passwd}\0${group}`;
  let names = cache.get(key);
  if (!names) {
    names = Promise.all([readIdFile(passwd), readIdFile(group)]).then(([users, groups]) => ({
      user: (uid: number) => users.get(uid),
      group: (gid: number) => groups.get(gid),
    }));
    cache.set(key, names);
  }
  return names;
}

export function clearIdNamesCache(): void {
  cache.clear();
}

/** Parses passwd/group lines `name:x:id:...` into id -> name (first entry wins; comments, NIS "+" lines skipped). */
export function parseIdFile(text: string): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!map.has(n)) map.set(n, name);
  }
  return map;
}

async function readIdFile(path: string): Promise<Map<number, string>> {
  try {
    return parseIdFile(await readFile(path, 'utf8'));
  } catch {
    return new Map();
  }
}
