// Canonical tree encoding (docs/repository-format.md §9). encodeTree validates every node, sorts nodes by name
// in UTF-8 byte order, writes each node's fields in NODE_KEY_ORDER with no whitespace, and so gives identical
// bytes (hence one content id, stored once) for identical directories, whatever order they were read in.
// decodeTree is the reader's gate: it rejects anything a writer could not have produced (bad JSON, invalid
// nodes, unsafe names, unsorted or duplicate names) with TreeFormatError naming the blob, the node and the
// field. Restores rely on it to never see a name like "..". Pure and stateless.
import { z } from 'zod';
import { isPlainValidTree, NODE_KEY_ORDER, treeSchema, type Tree, type TreeNode } from './schema';

export class TreeFormatError extends Error {
  name = 'TreeFormatError';
}

/**
 * UTF-8 byte order of two names (what S3 and §9 use; differs from JS `<` for characters beyond the BMP).
 * Up to the first differing UTF-16 unit the names are equal; when both units there are below the
 * surrogates, they are whole characters and order the names as their UTF-8 bytes do. Only otherwise are
 * the names encoded (this runs for every node of every tree encoded or decoded).
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function encodeTree(tree: Tree): Buffer {
  const nodes = [...validate(tree, 'tree to encode').nodes].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < nodes.length; i++) {
    if (nodes[i - 1]!.name === nodes[i]!.name) throw new TreeFormatError(`tree to encode: duplicate name ${JSON.stringify(nodes[i]!.name)}`);
  }
  // The key list makes JSON.stringify write each node's fields in NODE_KEY_ORDER (and only those), skipping undefined ones.
  return Buffer.from(JSON.stringify({ nodes }, CANONICAL_KEYS), 'utf8');
}

/** Parses and validates a tree blob's plaintext; `what` names the blob in errors (e.g. "tree 3fa2…"). */
export function decodeTree(buf: Buffer, what: string): Tree {
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new TreeFormatError(`${what}: not valid JSON (${(err as Error).message})`);
  }
  const tree = validate(value, what);
  for (let i = 1; i < tree.nodes.length; i++) {
    const prev = tree.nodes[i - 1]!.name;
    const cur = tree.nodes[i]!.name;
    const order = compareNames(prev, cur);
    if (order === 0) throw new TreeFormatError(`${what}: duplicate name ${JSON.stringify(cur)}`);
    if (order > 0) throw new TreeFormatError(`${what}: nodes are not sorted by name (${JSON.stringify(prev)} comes before ${JSON.stringify(cur)})`);
  }
  return tree;
}

function validate(value: unknown, what: string): Tree {
  if (isPlainValidTree(value)) return value;
  const parsed = treeSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new TreeFormatError(`${what}: invalid tree: ${describeTreeIssues(parsed.error, value)}`);
}

const CANONICAL_KEYS = ['nodes', ...NODE_KEY_ORDER];

/** "node 3 ("a.txt") content: message; ..." with the node's name when the input has one. */
function describeTreeIssues(error: z.ZodError, input: unknown): string {
  const rawNodes = (input as { nodes?: unknown } | null)?.nodes;
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const [first, index, ...rest] = issue.path;
      if (first !== 'nodes' || typeof index !== 'number') return `${issue.path.map(String).join('.') || 'tree'}: ${issue.message}`;
      const name = Array.isArray(rawNodes) ? (rawNodes[index] as { name?: unknown } | undefined)?.name : undefined;
      const label = typeof name === 'string' ? `node ${index} (${JSON.stringify(name)})` : `node ${index}`;
      return `${label}${rest.length ? ` ${rest.map(String).join('.')}` : ''}: ${issue.message}`;
    })
    .join('; ') + (error.issues.length > 5 ? `; and ${error.issues.length - 5} more problems` : '');
}
