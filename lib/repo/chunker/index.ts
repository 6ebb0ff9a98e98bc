// Content-defined chunking for the repository (docs/repository-format.md §6.1): derive the per-repository
// gear table once from idKey, then chunk streams with Chunker / chunkStream. See each module's contract.
export { Chunker, chunkBuffer } from './fastcdc';
export { assertGearTable, deriveGearTable, type GearTable } from './gear';
export {
  CHUNKER_ALGORITHM,
  ChunkerParamsError,
  DEFAULT_CHUNKER_PARAMS,
  judgementMask,
  masksFor,
  validateChunkerParams,
  type ChunkerParams,
} from './params';
export { chunkStream } from './stream';
