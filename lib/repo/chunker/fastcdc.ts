// FastCDC (Xia et al. 2020: gear hash, normalized chunking level 2, two bytes per step) exactly as
// docs/repository-format.md §6.1 specifies. The engine is fastcdc-wasm.mjs (plain JS driving the gear loop
// in WebAssembly, gear-scan.wat; the chunk worker thread loads it without TypeScript); this is its checked
// front door, and spec.test.ts checks it against a literal reading of the spec. Guarantees: the chunks
// returned by push() then finish(), concatenated, are the input; every chunk but a stream's last is within
// [minSize, maxSize]; the cut points depend only on the bytes, the gear table and the params, never on how
// the input was split into pushes. Memory: push() copies each piece into the engine's window (2 * maxSize
// plus the largest piece) and keeps no reference to it; each chunk is copied once into its own Buffer.
// Errors: constructor throws ChunkerParamsError / TypeError on bad params or gear table. A Chunker is
// single-stream state, synchronous and CPU-bound: one per stream; ChunkPool runs them on worker threads.
import { WasmChunkCutter } from './fastcdc-wasm.mjs';
import { assertGearTable, type GearTable } from './gear';
import { DEFAULT_CHUNKER_PARAMS, masksFor, validateChunkerParams, type ChunkerParams } from './params';

/** The validated engine; `alloc` chooses where chunks are copied to (default Buffer.allocUnsafe). */
export class Chunker extends WasmChunkCutter {
  declare readonly params: Readonly<ChunkerParams>;

  constructor(gear: GearTable, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS, alloc?: (size: number) => Buffer) {
    const checked = validateChunkerParams(params);
    const { maskS, maskL } = masksFor(checked.avgSize);
    super(checkedGear(gear), checked, maskS, maskL, alloc);
  }
}

function checkedGear(gear: GearTable): Int32Array {
  assertGearTable(gear);
  return Int32Array.from(gear);
}

/** Splits one in-memory buffer (convenience for small inputs and tests). */
export function chunkBuffer(data: Uint8Array, gear: GearTable, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Buffer[] {
  const chunker = new Chunker(gear, params);
  const chunks = chunker.push(data);
  const last = chunker.finish();
  if (last) chunks.push(last);
  return chunks;
}
