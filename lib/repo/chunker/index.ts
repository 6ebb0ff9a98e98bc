// Content-defined chunking for the repository (docs/repository-format.md §6.1): derive the per-repository
// gear table once from idKey, then chunk with Chunker (in-thread) or ChunkPool (chunk-pool.ts: worker threads, what backups use). See each module's contract.
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
