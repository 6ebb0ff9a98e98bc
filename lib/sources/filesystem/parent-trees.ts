// The parent snapshot's trees, as an incremental backup walks them. Loading each directory's parent tree
// only when the walk reaches it costs one round trip per directory in a row; instead, when a tree is
// handed to the walk, its subdirectories' trees start loading (a few at a time), so the next ones are
// usually ready. One level ahead only: memory stays at the children of the directories being walked.
// An unreadable parent tree yields no nodes: the files below are re-read, the backup stays correct.
import { Slots } from '../../concurrency';
import { decodeTree, type TreeNode } from '../../repo/tree';

const LOADS_IN_FLIGHT = 8;

export type ParentNodes = Map<string, TreeNode>;

export class ParentTrees {
  private readonly ahead = new Map<string, Promise<ParentNodes>>();
  private readonly slots = new Slots(LOADS_IN_FLIGHT);

  constructor(
    private readonly repo: { loadBlob(id: string, signal?: AbortSignal): Promise<Buffer> },
    private readonly signal?: AbortSignal,
  ) {}

  /** The nodes of parent tree `id` by name (empty without a parent); starts loading its subtrees. */
  async nodes(id: string | null | undefined): Promise<ParentNodes> {
    if (!id) return new Map();
    const pending = this.ahead.get(id) ?? this.load(id);
    this.ahead.delete(id);
    const nodes = await pending;
    for (const node of nodes.values()) {
      if (node.type === 'dir' && node.subtree && !this.ahead.has(node.subtree)) this.ahead.set(node.subtree, this.load(node.subtree));
    }
    return nodes;
  }

  /**
   * The nodes of parent tree `id` for a look-ahead of the walk's own (the archiver pre-reading a directory
   * before it gets there): loads it like a subtree, without starting its subtrees; nodes(id) takes it later.
   */
  peek(id: string): Promise<ParentNodes> {
    let pending = this.ahead.get(id);
    if (!pending) this.ahead.set(id, (pending = this.load(id)));
    return pending;
  }

  /** Drops look-ahead for subtrees the walk will not visit (excluded, deleted or replaced directories). */
  forget(nodes: ParentNodes): void {
    for (const node of nodes.values()) if (node.type === 'dir' && node.subtree) this.ahead.delete(node.subtree);
  }

  private load(id: string): Promise<ParentNodes> {
    return this.slots.run(async () => {
      try {
        const tree = decodeTree(await this.repo.loadBlob(id, this.signal), `tree ${id}`);
        return new Map(tree.nodes.map((n) => [n.name, n]));
      } catch {
        return new Map();
      }
    });
  }
}
