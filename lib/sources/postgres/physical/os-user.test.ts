// osUser: the server's OS user, from passwd(5) (or getent), checked against `id` on this machine.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { osUser, passwdEntry } from './recover';

describe('osUser', () => {
  it('reads uid and gid from passwd lines, matching the name exactly', () => {
    const text = 'root:x:0:0:root:/root:/bin/bash\npostgres-old:x:7:7::/:/bin/false\npostgres:x:105:110:PostgreSQL:/var/lib/postgresql:/bin/bash\n';
    expect(passwdEntry(text, 'postgres')).toEqual({ uid: 105, gid: 110 });
    expect(passwdEntry(text, 'postgre')).toBeNull();
    expect(passwdEntry('broken:x:notanumber:1::/:\n', 'broken')).toBeNull();
  });

  it('agrees with id for the postgres user, and names a user that does not exist', () => {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    expect(osUser('postgres')).toEqual({ name: 'postgres', uid: id('-u'), gid: id('-g') });
    expect(() => osUser('no-such-user-7f3a')).toThrow('OS user no-such-user-7f3a does not exist');
  });
});
