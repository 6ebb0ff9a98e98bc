// The file node at a path ("postgres/app.dump", "mysql/shop.sql", "postgres-base/base.tar") under a
// snapshot's root tree: how the database sources find the file their metadata names.
import { decodeTree, type FileNode } from '../repo/tree';

export async function findFile(
  repo: { loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> },
  rootTree: string,
  path: string,
  what: string,
  signal: AbortSignal | undefined,
  makeError: (message: string) => Error,
): Promise<FileNode> {
  const parts = path.split('/');
  let tree = rootTree;
  for (const [i, name] of parts.entries()) {
    const { nodes } = decodeTree(await repo.loadBlob(tree, signal), `tree ${tree}`);
    const node = nodes.find((n) => n.name === name);
    const last = i === parts.length - 1;
    if (!node || (last ? node.type !== 'file' : node.type !== 'dir')) throw makeError(`${what} has no ${last ? 'file' : 'directory'} /${parts.slice(0, i + 1).join('/')} (its tree does not match its metadata)`);
    if (last) return node as FileNode;
    tree = (node as { subtree: string }).subtree;
  }
  throw makeError(`${what}: empty file path`);
}
