// Per-repository gear table (docs/repository-format.md §6.1): gear[i] = first 4 bytes, big-endian, of
// HMAC-SHA-256(idKey, "lifeboat/v1/gear" || byte(i)). Deterministic for a given idKey, so every machine
// writing to a repository cuts the same boundaries; unpredictable without the key, so boundaries cannot
// fingerprint known files. Values are stored as int32 (same 32 bits, signed view) because V8 keeps int32
// in registers while uint32 above 2^31 would become heap doubles in the hot loop. Throws RangeError on a
// key of the wrong size. Pure; safe in any thread.
import { createHmac } from 'node:crypto';

export type GearTable = Int32Array;

const GEAR_LABEL = Buffer.from('lifeboat/v1/gear', 'ascii');
export const ID_KEY_BYTES = 32;

export function deriveGearTable(idKey: Uint8Array): GearTable {
  if (idKey.length !== ID_KEY_BYTES) throw new RangeError(`gear table needs the ${ID_KEY_BYTES}-byte idKey, got ${idKey.length} bytes`);
  const gear = new Int32Array(256);
  const msg = Buffer.alloc(GEAR_LABEL.length + 1);
  GEAR_LABEL.copy(msg);
  for (let i = 0; i < 256; i++) {
    msg[GEAR_LABEL.length] = i;
    gear[i] = createHmac('sha256', idKey).update(msg).digest().readInt32BE(0);
  }
  return gear;
}

/** Checks a table handed to the chunker (any 256-entry Int32Array is accepted: tests use fixed ones). */
export function assertGearTable(gear: unknown): asserts gear is GearTable {
  if (!(gear instanceof Int32Array) || gear.length !== 256) {
    throw new TypeError('chunker gear table must be an Int32Array of 256 entries (use deriveGearTable(idKey))');
  }
}
