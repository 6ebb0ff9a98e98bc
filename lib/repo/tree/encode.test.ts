import { describe, expect, it } from 'vitest';
import { TreeFormatError, compareNames, decodeTree, encodeTree } from './encode';
import { isPlainValidTree, treeSchema, type TreeNode } from './schema';

const ID = (c: string) => c.repeat(64);
const file = (name: string, over: Record<string, unknown> = {}): TreeNode => ({
  name, type: 'file', mode: 0o100644, uid: 1000, gid: 1000, user: 'ann', group: 'staff', mtimeNs: '1705312800123456789',
  ctimeNs: '1705312800123456789', size: 5, inode: '18446744073709551615', dev: '2049', links: 1, content: [ID('a')], ...over,
} as TreeNode);
const dir = (name: string): TreeNode => ({ name, type: 'dir', mode: 0o40755, mtimeNs: '0', size: 4096, subtree: ID('b') });
const link = (name: string): TreeNode => ({ name, type: 'symlink', mode: 0o120777, mtimeNs: '-1000', size: 4, linkTarget: '../x' });

function decodeJson(value: unknown): unknown {
  return decodeTree(Buffer.from(JSON.stringify(value)), 'tree 1234');
}
function decodeError(value: unknown): string {
  try {
    decodeJson(value);
  } catch (err) {
    expect(err).toBeInstanceOf(TreeFormatError);
    return (err as Error).message;
  }
  throw new Error('decoded without error');
}

describe('tree encoding', () => {
  it('is canonical: node order and field order do not change the bytes', () => {
    const a = encodeTree({ nodes: [file('b.txt'), dir('a'), link('c')] });
    const reordered = { content: [ID('a')], size: 5, type: 'file', name: 'b.txt', links: 1, dev: '2049', inode: '18446744073709551615',
      ctimeNs: '1705312800123456789', mtimeNs: '1705312800123456789', group: 'staff', user: 'ann', gid: 1000, uid: 1000, mode: 0o100644 } as TreeNode;
    const b = encodeTree({ nodes: [link('c'), reordered, dir('a')] });
    expect(b.equals(a)).toBe(true);
    expect(a.toString()).toBe(
      '{"nodes":[{"name":"a","type":"dir","mode":16877,"mtimeNs":"0","size":4096,"subtree":"' + ID('b') + '"},' +
      '{"name":"b.txt","type":"file","mode":33188,"uid":1000,"gid":1000,"user":"ann","group":"staff","mtimeNs":"1705312800123456789",' +
      '"ctimeNs":"1705312800123456789","size":5,"inode":"18446744073709551615","dev":"2049","links":1,"content":["' + ID('a') + '"]},' +
      '{"name":"c","type":"symlink","mode":41471,"mtimeNs":"-1000","size":4,"linkTarget":"../x"}]}');
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    const names = ['😀', '\uFFFD', 'Z', 'a', 'é'];
    const encoded = JSON.parse(encodeTree({ nodes: names.map((n) => file(n)) }).toString()) as { nodes: { name: string }[] };
    expect(encoded.nodes.map((n) => n.name)).toEqual(['Z', 'a', 'é', '\uFFFD', '😀']);
    expect(compareNames('\uFFFD', '😀')).toBeLessThan(0);
    expect('\uFFFD' < '😀').toBe(false); // why compareNames exists
  });

  it('compareNames agrees with comparing the UTF-8 bytes, whatever mix of characters (prefixes, BMP, surrogate pairs)', () => {
    const alphabet = ['a', 'b', 'Z', '.', 'é', 'ß', '中', '\uD7FF', '\uE000', '\uFFFD', '😀', '𝄞', '\u{10FFFF}'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const word = () => Array.from({ length: 1 + rand(4) }, () => alphabet[rand(alphabet.length)]).join('');
    for (let i = 0; i < 5000; i++) {
      const a = word();
      const b = rand(4) === 0 ? a + word() : word(); // a prefix of b now and then
      const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(Math.sign(compareNames(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(bytes);
      expect(Math.sign(compareNames(b, a))).toBe(-bytes || 0);
    }
  });

  it('round-trips every node type, dropping unknown fields', () => {
    const nodes: TreeNode[] = [
      file('empty', { content: [], size: 0 }), dir('d'), link('l'),
      { name: 'p', type: 'fifo', mode: 0o10644, mtimeNs: '1', size: 0 },
      { name: 'tty', type: 'chardev', mode: 0o20620, mtimeNs: '1', size: 0, rdev: '34816' },
      { name: 'sda', type: 'blockdev', mode: 0o60660, mtimeNs: '1', size: 0, rdev: '2048' },
    ];
    const buf = encodeTree({ nodes });
    const back = decodeTree(buf, 'tree x');
    expect(encodeTree(back).equals(buf)).toBe(true);
    expect(back.nodes.find((n) => n.name === 'tty')).toEqual(nodes[4]);
    const withExtra = decodeJson({ nodes: [{ ...file('x'), future: 1 }], other: true }) as { nodes: object[] };
    expect(withExtra.nodes[0]).not.toHaveProperty('future');
  });

  it('rejects names that are not a single safe path component', () => {
    for (const [name, why] of [['..', 'name must not be ".."'], ['.', 'name must not be "."'], ['a/b', 'must not contain "/"'],
      ['/etc', 'must not contain "/"'], ['', 'must not be empty'], ['a\0b', 'must not contain NUL'], ['x\uD800', 'lone surrogate']] as const) {
      const msg = decodeError({ nodes: [file(name)] });
      expect(msg).toContain(`tree 1234: invalid tree: node 0 (${JSON.stringify(name)}) name: `);
      expect(msg).toContain(why);
      expect(() => encodeTree({ nodes: [file(name)] })).toThrow(TreeFormatError);
    }
  });

  it('rejects nodes missing what their type needs, naming node and field', () => {
    const { content: _c, ...noContent } = file('f') as Extract<TreeNode, { type: 'file' }>;
    expect(decodeError({ nodes: [dir('a'), noContent] })).toContain('node 1 ("f") content: files need "content"');
    expect(decodeError({ nodes: [{ ...dir('d'), subtree: undefined }] })).toContain('node 0 ("d") subtree: directories need "subtree"');
    expect(decodeError({ nodes: [{ ...link('l'), linkTarget: undefined }] })).toContain('symlinks need "linkTarget"');
    expect(decodeError({ nodes: [{ name: 'c', type: 'chardev', mode: 0o20620, mtimeNs: '1', size: 0 }] })).toContain('devices need "rdev"');
    expect(decodeError({ nodes: [file('f', { content: ['xyz'] })] })).toContain('content.0: must be a content id');
    expect(decodeError({ nodes: [file('f', { type: 'socket' })] })).toContain('node 0 ("f")');
    expect(decodeError({ nodes: [file('f', { mode: 0o40755 })] })).toContain('mode: mode 0o40755 does not have the file-type bits of a file');
    expect(decodeError({ nodes: [file('f', { mtimeNs: '1.5' })] })).toContain('mtimeNs: must be nanoseconds');
    expect(decodeError({ nodes: [file('f', { size: -1 })] })).toContain('size');
    expect(decodeError({ nodes: 'nope' })).toContain('tree 1234: invalid tree: nodes:');
  });

  it('rejects unsorted or duplicate names and bad JSON', () => {
    expect(decodeError({ nodes: [file('b'), file('a')] })).toBe('tree 1234: nodes are not sorted by name ("b" comes before "a")');
    expect(decodeError({ nodes: [file('a'), dir('a')] })).toBe('tree 1234: duplicate name "a"');
    expect(() => encodeTree({ nodes: [file('a'), dir('a')] })).toThrow('tree to encode: duplicate name "a"');
    expect(() => decodeTree(Buffer.from('{"nodes":['), 'tree 1234')).toThrow(/^tree 1234: not valid JSON/);
  });
});

describe('isPlainValidTree (the quick path before zod)', () => {
  const valid: TreeNode[] = [
    file('a'), file('empty', { content: [], size: 0, uid: undefined }), dir('d'), link('l'),
    { name: 'p', type: 'fifo', mode: 0o10644, mtimeNs: '1', size: 0 },
    { name: 'tty', type: 'chardev', mode: 0o20620, mtimeNs: '1', size: 0, rdev: '34816' },
  ];
  const mutations: Record<string, unknown>[] = [
    { name: '' }, { name: '..' }, { name: 'a/b' }, { name: 'a\0' }, { name: '\uD800' }, { name: 5 },
    { type: 'socket' }, { type: 'dir' }, { mode: 0o40755 }, { mode: -1 }, { mode: 1.5 }, { mode: 0o200000 },
    { uid: -1 }, { gid: 2 ** 53 }, { links: '1' }, { size: null }, { user: 3 }, { mtimeNs: '01' }, { mtimeNs: 1 },
    { ctimeNs: '-0' }, { inode: '-1' }, { dev: 2049 }, { content: ['A'.repeat(64)] }, { content: 'x' },
    { subtree: 'b' }, { linkTarget: '' }, { linkTarget: 'a\0b' }, { rdev: 'x' }, { future: 1 },
  ];

  it('accepts ordinary trees without zod, and is never true where zod fails', () => {
    expect(isPlainValidTree({ nodes: valid })).toBe(true);
    expect(isPlainValidTree({ nodes: valid, other: 1 })).toBe(false);
    let rejected = 0;
    for (const base of valid) {
      for (const m of mutations) {
        const tree = { nodes: [{ ...base, ...m }] };
        const zodSays = treeSchema.safeParse(tree);
        if (isPlainValidTree(tree)) {
          expect(zodSays.success, JSON.stringify(tree)).toBe(true);
          expect(zodSays.data).toEqual(tree); // zod would not have changed it either
        } else rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(valid.length * (mutations.length - 8));
  });
});
