// lib/repo/tree: tree blobs (docs/repository-format.md §9). Import from here; inner modules may change.
export {
  NODE_KEY_ORDER, NODE_TYPES, S_IFMT, TYPE_BITS, treeNodeSchema, treeSchema, unsafeNameReason,
  type DirNode, type FileNode, type NodeType, type Tree, type TreeNode,
} from './schema';
export { TreeFormatError, compareNames, decodeTree, encodeTree } from './encode';
export { UnsupportedFileTypeError, nodeFromStat, nodeTypeOf, sameFile, sameNode, type NodeExtra } from './stat';
export { FileStatError, fileStatOf, type FileStat, type FileKind } from './file-stat.mjs';
export { clearIdNamesCache, loadIdNames, parseIdFile, type IdNameFiles, type IdNames } from './id-names';
