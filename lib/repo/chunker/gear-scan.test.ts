import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleGearScan } from '../../../scripts/build-gear-scan.mjs';
import { WasmChunkCutter } from './fastcdc-wasm.mjs';
import { deriveGearTable, masksFor, validateChunkerParams, type ChunkerParams } from './index';
import { keystream, referenceChunkLengths, sourceLikeText, split } from './testing';

const gear = deriveGearTable(Buffer.alloc(32, 5));
const MiB = 1024 * 1024;

function wasmChunks(pieces: Uint8Array[], params: ChunkerParams): Buffer[] {
  const p = validateChunkerParams(params);
  const { maskS, maskL } = masksFor(p.avgSize);
  const cutter = new WasmChunkCutter(gear, p, maskS, maskL);
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(...cutter.push(piece));
  const last = cutter.finish();
  if (last) out.push(last);
  return out;
}

describe('the WebAssembly gear loop', () => {
  it('gear-scan.wasm is what gear-scan.wat assembles to (run `npm run build:wasm` after changing the .wat)', async () => {
    const committed = readFileSync(new URL('./gear-scan.wasm', import.meta.url));
    expect(Buffer.compare(await assembleGearScan(), committed)).toBe(0);
  });

  it('cuts exactly where the spec says, whatever the piece sizes, and when the window must grow', () => {
    const small = { minSize: 64, avgSize: 256, maxSize: 1024 };
    const text = sourceLikeText(300_000, 2);
    for (const sizes of [[1], [7, 300, 5000], [300_000]]) {
      const got = wasmChunks(split(text, sizes), small);
      expect(got.map((c) => c.length)).toEqual(referenceChunkLengths(text, gear, small));
      expect(Buffer.concat(got).equals(text)).toBe(true);
    }
    // Default sizes; a run of equal bytes (no cut point: maxSize chunks) between random data; pieces of 3 MiB
    // outgrow the initial 16 MiB window once the unfinished chunk sits in it.
    const data = Buffer.concat([keystream(9 * MiB, 1), Buffer.alloc(20 * MiB, 0x20), keystream(6 * MiB, 2)]);
    const defaults = { minSize: 512 * 1024, avgSize: MiB, maxSize: 8 * MiB };
    const want = referenceChunkLengths(data, gear, defaults);
    expect(want.filter((n) => n === 8 * MiB).length).toBeGreaterThanOrEqual(2);
    for (const sizes of [[MiB], [3 * MiB + 1], [20 * MiB]]) {
      const got = wasmChunks(split(data, sizes), defaults);
      expect(got.map((c) => c.length)).toEqual(want);
      expect(Buffer.concat(got).equals(data)).toBe(true);
    }
  });
});
